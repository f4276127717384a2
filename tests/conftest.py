"""Fixtures: one suite, two databases.

``TEST_DATABASE_URL`` (an owner URL such as ``postgresql://postgres@127.0.0.1/crm_test``)
runs the suite on PostgreSQL: the database is created afresh, migrated as the
owner, and the app connects as ``crm_app`` (no RLS bypass). Without it, the
suite runs on a SQLite file. ``TEST_REDIS_URL`` picks the Redis for job and
throttling tests (default ``redis://127.0.0.1:6379/15``).

Each test runs inside an outer transaction with a savepoint, rolled back at
the end, so request commits are visible to the test and nothing persists.
"""

from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url

from crm import create_app, crosstenant, database
from crm.extensions import db
from crm.tenancy import tenant_scope
from tests import factories
from tests.clients import client_as
from tests.smtp import running_server

APP_ROLE = "crm_app"
METRICS_ROLE = "crm_metrics"


def pytest_report_header(config):
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'sqlite (file)'}"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only behaviour; this run is on SQLite")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _with_user(url: str, user: str) -> str:
    return make_url(url).set(username=user, password=None).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory) -> dict:
    """Create and migrate the test database; return the owner, app and metrics URLs."""
    owner = os.environ.get("TEST_DATABASE_URL")
    if not owner:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        database.upgrade(url)
        return {"owner": url, "app": url, "metrics": url, "dialect": "sqlite"}
    owner = database.normalise_url(owner)
    name = make_url(owner).database
    maintenance = create_engine(
        make_url(owner).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with maintenance.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    maintenance.dispose()
    database.upgrade(owner)
    database.grant_roles(owner, APP_ROLE, METRICS_ROLE, create=True)
    return {
        "owner": owner,
        "app": _with_user(owner, APP_ROLE),
        "metrics": _with_user(owner, METRICS_ROLE),
        "dialect": "postgresql",
    }


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def make_app(database_urls):
    """Build an app on the test database; keyword overrides go into its config."""
    built = []

    def make(**overrides):
        config = {
            "ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_urls["app"],
            "MIGRATION_DATABASE_URL": database_urls["owner"],
            "METRICS_DATABASE_URL": database_urls["metrics"],
            "REDIS_URL": None,
            "SECRET_KEY": "test-secret-key-test-secret-key-0123",
            # The harness holds one transaction open for a whole test (rolled back
            # after it), idle while a worker or a subprocess runs: no 30 s limit.
            "IDLE_IN_TRANSACTION_TIMEOUT": 600,
        }
        config.update(overrides)
        app = create_app(config)
        built.append(app)
        return app

    yield make
    for app in built:
        with app.app_context():
            db.engine.dispose() if not isinstance(db.engine, Connection) else None
        crosstenant.dispose(app)


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a fresh ``contextvars`` context.

    Flask reuses an app context that is already pushed, so without this the
    test's app context (its ``g``, its session, the tenant scope) would be
    shared by every request; real requests share nothing.
    """

    def open(self, *args, **kwargs):
        # Buffered: a streamed body (a CSV export) is read inside the request's
        # own context, as a server's thread would, not later in the test's.
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            expire_all()  # the test sees what the request committed
        return response


def expire_all() -> None:
    """Expire every object, then read the test's users again, each in their own
    scope as the app does: with row-level security on ``users`` (PostgreSQL) an
    expired user could not be reloaded in the test's own scope (none)."""
    from crm.accounts.definer import user_by_id
    from crm.models import User
    from crm.tenancy import scope_of_user

    users = [obj for obj in db.session.identity_map.values() if isinstance(obj, User)]
    db.session.expire_all()
    token = _reloading.set(True)
    try:
        for user in users:
            wall = user_by_id(db.session, inspect(user).identity[0])
            if wall is not None:  # else deleted by the request
                with tenant_scope(scope_of_user(wall.tenant_id)):
                    db.session.refresh(user)
    finally:
        _reloading.reset(token)


# The test harness's own reads (``expire_all``), which query counts leave out.
_reloading = contextvars.ContextVar("reloading_test_users", default=False)


@pytest.fixture(scope="session")
def _app(make_app):
    return make_app()


@pytest.fixture
def app(_app):
    """The app, inside an app context, on one connection whose transaction
    (outer transaction + savepoint) is rolled back after the test."""
    _app.test_client_class = IsolatedClient
    # tenant_scope(None): a scope that a service activates outside a request (as
    # sign-in lookups do) ends with the test.
    with bound_to_rolled_back_connection(_app), _app.app_context(), tenant_scope(None):
        yield _app


@contextmanager
def bound_to_rolled_back_connection(app):
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
        connection.begin_nested()
        db.engines[None] = connection
    try:
        yield connection
    finally:
        with app.app_context():
            db.session.remove()
            db.engines[None] = engine
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def signed_in(app):
    """``signed_in(user)``: a client whose session already names ``user``."""
    return lambda user: client_as(app, user.get_id())


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def smtp_server(app):
    """A real SMTP server for this test, and the app sending to it (``SMTP_URL``)."""
    controller, inbox = running_server()
    app.config["SMTP_URL"] = inbox.url
    try:
        yield inbox
    finally:
        app.config["SMTP_URL"] = None
        controller.stop()


@pytest.fixture
def dialect(database_urls) -> str:
    return database_urls["dialect"]


@pytest.fixture
def count_queries(app):
    """``with count_queries() as q: ...`` then ``q.count``: statements sent to the database."""

    class Counter:
        count = 0
        statements: list[str]

    @contextmanager
    def counting():
        counter = Counter()
        counter.statements = []
        bind = db.engines[None]
        target = bind.engine if isinstance(bind, Connection) else bind

        def _count(conn, cursor, statement, *args):
            if _reloading.get():
                return  # the test harness, not the page
            if (
                "set_config('app.tenant_id'" in statement
                or statement.startswith("SAVEPOINT")
                or statement.startswith("RELEASE")
            ):
                return  # transaction bookkeeping, not page queries
            counter.count += 1
            counter.statements.append(statement)

        event.listen(target, "before_cursor_execute", _count)
        try:
            yield counter
        finally:
            event.remove(target, "before_cursor_execute", _count)

    return counting


@pytest.fixture
def make(session):
    """Factory functions bound to the test session: ``make.tenant()``, ``make.org(t)``, ..."""
    return factories.Factories(session)


@pytest.fixture
def login(client):
    """``login(user)`` signs the test client in as ``user`` (password from factories)."""

    def do_login(user, password: str = factories.PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, f"login failed for {user.email}"
        return client

    return do_login


def _truncate_all(owner_url: str) -> None:
    """Empty every table but the reference lists and alembic's, as the owner."""
    from crm.models import Base

    keep = {"ecosystems", "flagship_areas", "programmes"}
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in keep]
    engine = create_engine(owner_url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())
    engine.dispose()


def close_app(app) -> None:
    """Give back everything an app holds open: session, engines, Redis."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        redis = app.extensions.get("crm.redis")
        if redis is not None:
            redis.close()
    crosstenant.dispose(app)


@pytest.fixture
def committed_app(make_app, database_urls):
    """An app whose data really commits (for rq workers, the metrics role and a
    live server, which cannot see a test's open transaction). Tables are
    emptied afterwards."""
    app = make_app()
    app.test_client_class = IsolatedClient
    try:
        yield app
    finally:
        close_app(app)
        _truncate_all(database_urls["owner"])


@contextmanager
def jobs_app(make_app, database_urls, redis_url: str | None, **config):
    """An app whose data commits (a worker cannot see a test's transaction), its
    jobs on the Redis at ``redis_url`` (None: in-process). Redis is emptied before
    and after, the tables after."""
    from redis import Redis

    app = make_app(REDIS_URL=redis_url, **config)
    app.test_client_class = IsolatedClient
    connection = Redis.from_url(redis_url) if redis_url else None
    if connection is not None:
        connection.flushdb()
    try:
        yield app
    finally:
        close_app(app)
        if connection is not None:
            connection.flushdb()
            connection.close()
        _truncate_all(database_urls["owner"])


def _buffered(app):
    """Hand the server whole bodies, every file already closed. When Chromium
    drops a connection mid-response (it leaves a page while a script still
    loads), werkzeug's dev server can raise on the dead socket before it
    closes the response, and the open static file then fails the test as a
    ResourceWarning at some later garbage collection."""

    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@contextmanager
def serving(app):
    """``app`` served on 127.0.0.1 (a random port) in a background thread: its URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(committed_app):
    """The committed app served on 127.0.0.1 (a random port) in a background thread."""
    with serving(committed_app) as url:
        yield url


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def sign_in(page, email: str, password: str = factories.PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def console_errors(page) -> list[str]:
    """What the page's JavaScript console reports as errors (a CSP refusal shows there)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
