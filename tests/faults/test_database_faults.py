"""The database failing under the app, for real: its connections terminated
(``pg_terminate_backend``), a server nobody listens for, a statement past
``statement_timeout``. Never a 500: the next requests are served, and what cannot
be served is a 503 page that says why."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from config import Default
from crm import create_app, crosstenant, jobs, tenancy
from crm.extensions import db
from crm.models import Organisation
from tests.conftest import IsolatedClient, close_app
from tests.faults.conftest import tenant_with

pytestmark = pytest.mark.postgres

TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND usename = 'crm_app' AND pid <> pg_backend_pid()"
)


def _with_orgs(make, tenant):
    for _ in range(3):
        make.org(tenant)


def test_terminated_connections_cost_no_request(job_app, owner_sql):
    app = job_app()
    client, _, slug, _ = tenant_with(app, setup=_with_orgs)
    pages = [f"/{slug}/dashboard", f"/{slug}/members", f"/{slug}/figures", "/healthz"]
    for path in pages:  # the pool now holds connections the server will drop
        assert client.get(path).status_code == 200, path
    assert len(owner_sql(TERMINATE)) >= 1
    codes = [client.get(pages[i % len(pages)]).status_code for i in range(20)]
    assert codes == [200] * 20


def test_a_connection_lost_mid_request_is_a_503_and_the_next_request_is_served(make_app, owner_sql):
    """The backend is terminated between two statements of one request: that request
    answers 503, its teardown (a rollback on a dead connection) does not raise, and
    the next request gets a fresh connection."""
    app = make_app()
    app.test_client_class = IsolatedClient

    @app.route("/test-only/lose-connection/<int:tenant_id>")
    def lose_connection(tenant_id: int):
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        owner_sql("SELECT pg_terminate_backend(:pid)", pid=pid)
        # The tenant's set_config, then its query, on the dead connection.
        tenancy.activate(db.session, tenant_id)
        db.session.scalars(select(Organisation)).all()
        return "unreachable"

    try:
        client = app.test_client()
        lost = client.get("/test-only/lose-connection/1")
        assert lost.status_code == 503
        assert "The database is not answering" in lost.get_data(as_text=True)
        assert lost.headers["Retry-After"] == "30"
        assert client.get("/healthz").status_code == 200
    finally:
        close_app(app)


def test_during_an_outage_healthz_and_pages_answer_503(make_app, database_urls):
    """The app pointed at a port nothing listens on: the database is down."""
    down = make_url(database_urls["app"]).set(port=1).render_as_string(hide_password=False)
    app = make_app(SQLALCHEMY_DATABASE_URI=down)
    app.test_client_class = IsolatedClient
    try:
        client = app.test_client()
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json == {"status": "degraded", "failing": ["database"]}
        with client.session_transaction() as session:
            session["_user_id"] = "1:0:1"  # a signed-in user: loading them needs the database
        page = client.get("/assoc/members")
        assert page.status_code == 503
        assert "The database is not answering" in page.get_data(as_text=True)
    finally:
        close_app(app)


def test_a_statement_past_the_timeout_gets_a_clear_page(make_app):
    app = make_app(STATEMENT_TIMEOUT=0.2)
    app.test_client_class = IsolatedClient

    @app.route("/test-only/slow")
    def slow():
        db.session.execute(text("SELECT pg_sleep(2)"))
        return "unreachable"

    try:
        client = app.test_client()
        page = client.get("/test-only/slow")
        assert page.status_code == 503
        body = page.get_data(as_text=True)
        assert "This took too long" in body and "0.2 seconds" in body
        assert "Nothing was changed" in body
        as_json = client.get("/test-only/slow", headers={"Accept": "application/json"})
        assert as_json.status_code == 503 and as_json.json["error"] == "This took too long"
        assert client.get("/healthz").status_code == 200  # the connection is still good
    finally:
        close_app(app)


def show_limits(run_id: int) -> dict:
    """Job: the limits its own transactions run under."""
    with jobs.job_context():
        return {"statement": db.session.scalar(text("SELECT current_setting('statement_timeout')"))}


def test_the_timeouts_are_set_on_the_connections(make_app, database_urls):
    web = make_app(IDLE_IN_TRANSACTION_TIMEOUT=Default.IDLE_IN_TRANSACTION_TIMEOUT)
    worker = create_app(  # what crm.worker builds
        {
            "ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_urls["app"],
            "SECRET_KEY": "test-secret-key-test-secret-key-0123",
            "JOB_PROCESS": True,
        }
    )
    try:
        for app, statement, idle in ((web, "5s", "30s"), (worker, "15min", "5min")):
            with app.app_context():
                shown = db.session.execute(
                    text(
                        "SELECT current_setting('statement_timeout'), "
                        "current_setting('idle_in_transaction_session_timeout')"
                    )
                ).one()
                assert tuple(shown) == (statement, idle)
                db.session.remove()
        with web.app_context():  # a job run in the web process takes the job limits
            run = jobs.start_run("metrics.alliance", show_limits, tenant_id=None)
            assert run.result == {"statement": "15min"}, run.error
            db.session.remove()
            metrics = crosstenant.engine()
            with metrics.connect() as connection:
                shown = connection.scalar(text("SELECT current_setting('statement_timeout')"))
            assert shown == "15min"
    finally:
        close_app(web)
        close_app(worker)


def test_one_set_config_per_request_and_healthz_sends_one_statement(job_app):
    app = job_app()
    client, _, slug, _ = tenant_with(app, setup=_with_orgs)
    client.get(f"/{slug}/members")  # warm: the first request connects
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(f"/{slug}/members").status_code == 200
        tenant_settings = [s for s in statements if "set_config('app.tenant_id'" in s]
        assert len(tenant_settings) == 1, statements
        statements.clear()
        assert client.get("/healthz").status_code == 200
        assert statements == ["SELECT 1"]
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_dead_connection_at_the_first_statement_is_a_503_not_a_500(job_app, owner_sql, caplog):
    """Without the pool's liveness check (a connection dropped between the check and
    its use looks the same): the request's first statement fails, the rollback
    listeners meet an invalidated connection in teardown and must not raise."""
    app = job_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False})
    client, _, slug, _ = tenant_with(app, setup=_with_orgs)
    assert client.get(f"/{slug}/members").status_code == 200
    assert len(owner_sql(TERMINATE)) >= 1
    with caplog.at_level(logging.ERROR):
        page = client.get(f"/{slug}/members")
    assert page.status_code == 503
    assert "The database is not answering" in page.get_data(as_text=True)
    assert not [r for r in caplog.records if "rollback failed" in r.getMessage()]
    assert client.get(f"/{slug}/members").status_code == 200
