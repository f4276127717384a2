"""Redis unreachable (REDIS_URL at a port nothing listens on): signing in and pages
work, the login throttle counts in memory, /healthz names Redis, and starting
background work says plainly that it is unavailable, leaving no run active and an
import batch where it can be started again without a new upload."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Organisation
from crm.tenancy import tenant_scope
from tests import factories
from tests.clients import client_as
from tests.faults.conftest import (
    CLOSED_REDIS,
    active_runs,
    batch_status,
    mapping_form,
    organisations_csv,
    tenant_with,
    upload,
)
from tests.metrics.conftest import work


def test_sign_in_and_browsing_work_without_redis(job_app, caplog):
    app = job_app(REDIS_URL=CLOSED_REDIS)
    _, _, slug, email = tenant_with(app)
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        response = client.post("/login", data={"email": email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert any("Redis does not answer" in r.getMessage() for r in caplog.records)
    for path in (f"/{slug}/dashboard", f"/{slug}/members", f"/{slug}/figures", f"/{slug}/imports"):
        assert client.get(path).status_code == 200, path


def test_without_redis_the_throttle_counts_in_memory(job_app):
    app = job_app(REDIS_URL=CLOSED_REDIS, LOGIN_FREE_FAILURES=2)
    _, _, _, email = tenant_with(app)
    client = app.test_client()
    for _ in range(2):
        wrong = client.post("/login", data={"email": email, "password": "not-the-password"})
        assert wrong.status_code == 401
    # Two failures: the next attempt waits (2 s), even with the right password.
    held = client.post("/login", data={"email": email, "password": factories.PASSWORD})
    assert held.status_code == 429 and held.headers["Retry-After"] == "2"


def test_healthz_names_redis_when_it_is_down(job_app):
    response = job_app(REDIS_URL=CLOSED_REDIS).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "degraded", "failing": ["redis"]}


def test_refresh_without_redis_says_so_and_leaves_no_run_active(job_app, owner_sql):
    app = job_app(REDIS_URL=CLOSED_REDIS)
    client, tenant_id, slug, _ = tenant_with(app)
    response = client.post(f"/{slug}/figures/refresh", follow_redirects=True)
    assert response.status_code == 200
    assert "Background work is unavailable" in response.get_data(as_text=True)
    runs = owner_sql("SELECT status, error FROM job_runs WHERE tenant_id = :t", t=tenant_id)
    assert [r.status for r in runs] == ["failed"] and "ConnectionError" in runs[0].error
    assert active_runs(owner_sql) == []


def test_large_import_without_redis_says_so_and_keeps_the_file(
    job_app, redis_url, queue, owner_sql
):
    down = job_app(REDIS_URL=CLOSED_REDIS, IMPORT_INLINE_MAX_ROWS=3)
    client, tenant_id, slug, _ = tenant_with(down, role="secretariat")
    batch_id = upload(client, slug, organisations_csv())
    form = mapping_form(owner_sql, batch_id)

    # The check (dry run) cannot start: said so, the batch back to "uploaded".
    page = client.post(f"/{slug}/imports/{batch_id}/mapping", data=form, follow_redirects=True)
    assert "Background work is unavailable" in page.get_data(as_text=True)
    assert "no need to upload it again" in page.get_data(as_text=True)
    assert batch_status(owner_sql, batch_id) == "uploaded"
    assert active_runs(owner_sql) == []

    # Redis is back (another process with a working REDIS_URL): checked from the kept file.
    up = job_app(REDIS_URL=redis_url, IMPORT_INLINE_MAX_ROWS=3)
    with client.session_transaction() as session:
        identity = session["_user_id"]
    again = client_as(up, identity)
    assert again.post(f"/{slug}/imports/{batch_id}/mapping", data=form).status_code == 302
    work(up, queue)
    assert batch_status(owner_sql, batch_id) == "checked"

    # The commit cannot start either: said so, the batch stays "checked".
    page = client.post(f"/{slug}/imports/{batch_id}/commit", follow_redirects=True)
    assert "Background work is unavailable" in page.get_data(as_text=True)
    assert batch_status(owner_sql, batch_id) == "checked"
    assert active_runs(owner_sql) == []

    # And goes through once Redis answers, without a new upload.
    assert again.post(f"/{slug}/imports/{batch_id}/commit").status_code == 302
    work(up, queue)
    assert batch_status(owner_sql, batch_id) == "committed"
    with up.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 40


def test_large_xlsx_export_without_redis_says_so_and_leaves_no_run_active(job_app, owner_sql):
    def members(make, tenant):
        for _ in range(4):
            make.org(tenant)

    app = job_app(REDIS_URL=CLOSED_REDIS, EXPORT_XLSX_INLINE_MAX_ROWS=3)
    client, _, slug, _ = tenant_with(app, setup=members)
    response = client.get(f"/{slug}/members/export.xlsx?kind=firm", follow_redirects=True)
    assert response.status_code == 200
    assert "Background work is unavailable" in response.get_data(as_text=True)
    assert response.request.path == f"/{slug}/members"  # back on the list, filters kept
    assert active_runs(owner_sql) == []
