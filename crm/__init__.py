"""Cluster Alliance CRM: the application factory."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from crm import http, i18n, logs, regions
from crm.dialects import engine_options, tune_sqlite
from crm.extensions import csrf, db, limiter, login_manager

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(settings.load(config))
    if hops := app.config["TRUSTED_PROXIES"]:
        # Believe X-Forwarded-For/-Proto/-Host only as far as our own proxies set them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    http.install(app)  # before the blueprints: their rules bind the id converter
    logs.install(app)
    i18n.install(app)
    regions.install(app)  # |country_name, |region_name
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from crm import audit, conflicts, jobs, tenancy

    Path(app.instance_path).mkdir(exist_ok=True)
    if app.config.get("REDIS_URL"):
        from redis import Redis

        # Bounded waits: an unreachable Redis fails fast instead of hanging a request.
        app.extensions["crm.redis"] = Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=app.config["REDIS_TIMEOUT"],
            socket_timeout=app.config["REDIS_TIMEOUT"],
        )
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            tune_sqlite(db.engine)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    limiter.init_app(app)
    tenancy.install(db.session)
    jobs.install(db.session)
    audit.install(db.session)
    conflicts.install(db.session)
    conflicts.install_app(app)
    app.url_value_preprocessor(tenancy.load_tenant_from_url)
    app.teardown_appcontext(tenancy.reset_request_scope)
    app.url_defaults(tenancy.add_tenant_to_urls)


def _register_blueprints(app: Flask) -> None:
    from crm.accounts import bp as accounts
    from crm.activities import bp as activities
    from crm.alliance import bp as alliance
    from crm.bulk import bp as bulk
    from crm.contacts import bp as contacts
    from crm.cordis import bp as cordis
    from crm.core import bp as core
    from crm.downloads import bp as downloads
    from crm.imports import bp as imports
    from crm.mail.views import bp as mail
    from crm.mailings import bp as mailings
    from crm.members import bp as members
    from crm.merge import bp as merge
    from crm.metrics import bp as metrics
    from crm.partner_requests import bp as partner_requests
    from crm.profiles import bp as profiles
    from crm.projects import bp as projects
    from crm.renewals import bp as renewals
    from crm.segments.views import bp as segments
    from crm.tags import bp as tags
    from crm.tenants_admin import bp as tenants_admin

    for blueprint in (core, accounts, tenants_admin, members, projects, imports, metrics, alliance):
        app.register_blueprint(blueprint)
    app.register_blueprint(profiles)
    app.register_blueprint(partner_requests)
    app.register_blueprint(downloads)
    app.register_blueprint(cordis)
    app.register_blueprint(merge)
    for blueprint in (contacts, segments, tags, bulk, renewals, activities, mail, mailings):
        app.register_blueprint(blueprint)


def _register_cli(app: Flask) -> None:
    from crm.cli import crm_cli

    app.cli.add_command(crm_cli)
