"""Start page, health check, and what every response carries: security and cache
headers, and the error pages (an expired form, a database that is down or too slow)."""

import sqlite3

from flask import (
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from crm.core import bp
from crm.extensions import db, login_manager, redis_connection
from crm.i18n import _, _l, force_locale
from crm.models import Tenant

# PostgreSQL's "query_canceled": statement_timeout (or a cancel request) stopped it.
QUERY_CANCELED = "57014"
# SQLSTATE classes and codes of a server that is gone or refuses: connection
# exceptions, shutdown and crash, too many connections.
UNAVAILABLE_CLASSES = ("08", "57P", "53300")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# Powerful browser features the CRM never uses, refused for every page.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


@bp.after_app_request
def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if hsts := current_app.config.get("STRICT_TRANSPORT_SECURITY"):
        response.headers.setdefault("Strict-Transport-Security", hsts)
    if _private(response):
        # Nothing a signed-in person sees, downloads or fetches stays in a
        # browser or proxy cache for the next person at that computer.
        response.headers["Cache-Control"] = "no-store"
    return response


def _private(response) -> bool:
    if request.endpoint == "static":
        return False  # the same public files for everyone
    if response.mimetype == "application/json" or response.mimetype.endswith("+json"):
        return True
    if response.headers.get("Content-Disposition", "").startswith("attachment"):
        return True
    user = g.get("_login_user")  # set once Flask-Login loaded the user this request
    return bool(user is not None and user.is_authenticated) or "_user_id" in session


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return render_template("core/home.html")
    return redirect(url_for(landing_endpoint(current_user), **landing_args(current_user)))


# Where each role starts after login.
LANDING_PAGES = {
    "alliance_admin": "alliance.dashboard",
    "alliance_analyst": "alliance.dashboard",
    "tenant_admin": "members.dashboard",
    "secretariat": "members.dashboard",
    "cluster_manager": "projects.my_cluster",
}


def landing_endpoint(user) -> str:
    endpoint = LANDING_PAGES.get(user.role, "core.welcome")
    return endpoint if endpoint in current_app.view_functions else "core.welcome"


def landing_args(user) -> dict:
    return {"tenant": user_tenant_slug(user)} if user.tenant_id else {}


def user_tenant_slug(user) -> str | None:
    tenant = db.session.get(Tenant, user.tenant_id) if user.tenant_id else None
    return tenant.slug if tenant else None


@bp.route("/welcome")
def welcome():
    return render_template("core/home.html")


@bp.route("/healthz")
def healthz():
    """ok (200), or degraded (503) naming the parts that fail ("database",
    "redis"), never why: the reason goes to the server log, not to an
    anonymous caller. One statement (SELECT 1) on the database."""
    failing = []
    try:
        _select_one()
    except Exception:  # the point of a health check is to report, not raise
        current_app.logger.exception("health check: the database does not answer")
        _rollback_quietly()
        failing.append("database")
    redis = redis_connection()
    if redis is not None:
        try:
            redis.ping()
        except Exception:
            current_app.logger.exception("health check: Redis does not answer")
            failing.append("redis")
    if failing:
        return jsonify(status="degraded", failing=failing), 503
    return jsonify(status="ok"), 200


def _select_one() -> None:
    """``SELECT 1`` in autocommit: one round-trip (besides the pool's liveness check),
    no BEGIN, no ROLLBACK, no tenant setting."""
    bind = db.engines[None]
    if not isinstance(bind, Engine):  # bound to one connection (the tests' rolled-back one)
        db.session.execute(text("SELECT 1"))
        return
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT 1"))


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # a lost connection: nothing to roll back
        current_app.logger.exception("rollback failed")


FORM_EXPIRED = _l(
    "This form has expired or was opened in another session. "
    "Please go back, reload the page and submit it again."
)


@bp.app_errorhandler(CSRFError)
def form_expired(_error):
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify(error="form_expired", message=str(FORM_EXPIRED)), 400
    page = render_template(
        "core/error.html", code=400, title=_("Form expired"), message=str(FORM_EXPIRED)
    )
    return page, 400


# The last resort when even the error template fails: no database, no template.
PLAIN_ERROR = (
    "<!doctype html><title>Something went wrong</title><h1>Something went wrong</h1>"
    '<p>Please try again. <a href="/">Back to the start page</a></p>'
)


def _reader_texts(*texts):
    """The texts in the reader's language, else in English: the language may need
    the user's association, which a database that is down cannot give."""
    try:
        return [None if t is None else str(t) for t in texts]
    except Exception:
        with force_locale("en"):
            return [None if t is None else str(t) for t in texts]


def error_page(code: int, title: str, message: str | None = None):
    """The error page, drawn without the database: the failed request's
    transaction is rolled back first (on PostgreSQL every statement after a
    failed one is refused), the user is not loaded if the request had not
    loaded them, and the page names neither the user nor the tenant. JSON
    addresses and clients asking for JSON get ``{"error": ..., "status": ...}``."""
    _rollback_quietly()  # a lost connection: the page does not need it
    if "_login_user" not in g:
        # Flask-Login's template context (and the choice of language) would load
        # the user (a query) otherwise.
        g._login_user = login_manager.anonymous_user()
    title, message = _reader_texts(title, message)
    if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
        extra = {"message": message} if message else {}
        return jsonify(error=title, status=code, **extra), code
    try:
        return render_template("core/error.html", code=code, title=title, message=message), code
    except Exception:
        current_app.logger.exception("the error page failed")
        return security_headers(Response(PLAIN_ERROR, status=code, mimetype="text/html"))


def _error_page(code: int, title: str):
    def handler(_error):
        return error_page(code, title)

    return handler


for _code, _title in (
    (400, _l("Bad request")),
    (404, _l("Not found")),
    (405, _l("Method not allowed")),
    (413, _l("File too large")),
    (429, _l("Too many attempts")),
    (500, _l("Something went wrong")),
):
    # 500 also catches every unhandled exception (Flask wraps it in
    # InternalServerError), so no bare server page without the headers.
    bp.app_errorhandler(_code)(_error_page(_code, _title))


TOO_LONG = _l(
    "This took longer than the %(seconds)g seconds a page may take, so it was stopped "
    "before it held up everyone else. Nothing was changed. Try a narrower search or "
    "filter, or try again in a few minutes."
)
DATABASE_UNAVAILABLE = _l(
    "The database is not answering just now. Nothing was changed. Please try again in a minute."
)


@bp.app_errorhandler(OperationalError)
def database_trouble(error: OperationalError):
    """A statement past ``STATEMENT_TIMEOUT``, or a database that is down or
    dropped the connection: 503 with a plain explanation, never a 500."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate == QUERY_CANCELED:
        current_app.logger.warning("statement timeout on %s: %s", request.path, error.orig)
        message = _reader_texts(TOO_LONG)[0] % {"seconds": current_app.config["STATEMENT_TIMEOUT"]}
        response = make_response(error_page(503, _l("This took too long"), message))
    elif _unavailable(error, sqlstate):
        current_app.logger.exception("database unavailable on %s", request.path)
        response = make_response(error_page(503, _l("Database unavailable"), DATABASE_UNAVAILABLE))
    else:  # a mistake of ours (SQLite reports a missing table as "operational"): a 500
        raise error
    response.headers["Retry-After"] = "30"
    return response


def _unavailable(error: OperationalError, sqlstate: str | None) -> bool:
    if error.connection_invalidated:
        return True
    if sqlstate is not None:
        return sqlstate.startswith(UNAVAILABLE_CLASSES)
    # psycopg gives no SQLSTATE when the connection itself failed (refused, reset);
    # SQLite's errors never have one, and are ours.
    return not isinstance(error.orig, sqlite3.Error)


@bp.app_template_global()
def options(pairs, selected=None):
    from crm.core.html import options

    return options(pairs, selected)


@bp.app_template_global()
def url_stem(endpoint: str, id_name: str) -> str:
    from crm.core.html import url_stem

    return url_stem(endpoint, id_name)


@bp.app_context_processor
def navigation():
    from crm.core.nav import has_endpoint, nav_items

    return {"nav_items": nav_items, "has_endpoint": has_endpoint}
