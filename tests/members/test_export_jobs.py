"""Large XLSX exports run as a background job (crm.jobs.start_run): progress on
their page, then a download link that expires; a CSV always streams at once."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import func, insert, select, update

from crm.extensions import db
from crm.jobs import QUEUE_NAME
from crm.models import ExportFile, JobRun, Organisation, Tenant
from crm.models.base import utcnow
from crm.tenancy import tenant_scope
from tests.clients import client_as
from tests.conftest import jobs_app
from tests.factories import Factories

SLUG = "assoc-exports"


@pytest.fixture(params=["rq", "in-process"])
def export_app(make_app, database_urls, request):
    """An app whose data commits (a worker cannot see a test's transaction), with
    XLSX exports above three rows in the background; Redis when the param says."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "rq" else None
    with jobs_app(make_app, database_urls, redis_url, EXPORT_XLSX_INLINE_MAX_ROWS=3) as app:
        yield app


def _seed(app, organisations: int = 5):
    """The tenant, ``organisations`` firms, two secretariat users: (tenant id, identities)."""
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug=SLUG)
        for n in range(organisations):
            make.org(tenant, name=f"Export Firm {n:05d}", city="=cmd|' /C calc'!A0")
        users = [make.user(tenant, role="secretariat") for _ in (1, 2)]
        seeded = tenant.id, [u.get_id() for u in users]
        db.session.commit()
    return seeded


def work(app) -> None:
    """A real rq worker in this process until the queue is empty."""
    connection = app.extensions["crm.redis"]
    with app.app_context():
        db.session.remove()  # an open read transaction would hold up the job
        SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
            burst=True
        )


def _link(page: str) -> str:
    start = page.index(f'href="/{SLUG}/exports/') + len('href="')
    return page[start : page.index('"', start)].replace("&amp;", "&")


def test_a_large_xlsx_export_runs_in_the_background_and_links_the_file(export_app):
    app = export_app
    tenant_id, identities = _seed(app)
    client = client_as(app, identities[0])
    started = client.get(f"/{SLUG}/members/export.xlsx?relation=all")
    assert started.status_code == 302
    page_url = started.headers["Location"]
    assert f"/{SLUG}/exports/" in page_url
    if "crm.redis" in app.extensions:
        waiting = client.get(page_url).get_data(as_text=True)
        assert "being built in the background" in waiting and "job-progress" in waiting
        status = client.get(page_url + "/status").get_json()
        assert status["status"] == "queued"
        work(app)
    page = client.get(page_url).get_data(as_text=True)
    assert "5 rows" in page and "Download the file" in page
    link = _link(page)
    download = client.get(link)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(download.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "name", "legal_name") and len(rows) == 6
    assert rows[1][1] == "Export Firm 00000"
    assert "=cmd|' /C calc'!A0" in rows[1]  # text, never a formula
    with app.app_context(), tenant_scope(tenant_id):
        run = db.session.scalar(select(JobRun).where(JobRun.kind == "export.xlsx"))
        assert (run.status, run.progress, run.result["rows"]) == ("finished", 100, 5)

    # The link is the user's own: a colleague opening it gets nothing.
    colleague = client_as(app, identities[1])
    assert colleague.get(link).status_code == 404
    assert client.get(link.replace("token=", "token=x")).status_code == 404
    # A link past its time, and a file past its time, are gone (410).
    app.config["EXPORT_LINK_SECONDS"] = -1
    try:
        assert client.get(link).status_code == 410
    finally:
        app.config["EXPORT_LINK_SECONDS"] = 3600
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(update(ExportFile).values(expires_at=func.now()))
        db.session.commit()
    assert client.get(link).status_code == 410
    assert "has expired" in client.get(page_url).get_data(as_text=True)


def test_small_xlsx_and_every_csv_answer_at_once(export_app):
    app = export_app
    tenant_id, identities = _seed(app, organisations=3)
    client = client_as(app, identities[0])
    xlsx = client.get(f"/{SLUG}/members/export.xlsx?relation=all")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    _seed_more(app, tenant_id, 10)
    csv = client.get(f"/{SLUG}/members/export.csv?relation=all")
    assert csv.status_code == 200
    assert len(csv.get_data(as_text=True).splitlines()) == 1 + 13


def _seed_more(app, tenant_id: int, count: int) -> None:
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(
            insert(Organisation),
            [
                {"tenant_id": tenant_id, "kind": "firm", "name": f"More {n}", "country": "FR"}
                for n in range(count)
            ],
        )
        db.session.commit()


@pytest.mark.postgres
@pytest.mark.parametrize("export_app", ["rq"], indirect=True)
def test_the_largest_directory_21500_rows_exports_through_the_job(export_app, capsys):
    """The issue's case: the XLSX of 21,500 organisations, which ran past the
    server's timeout in a request, is built by the worker with progress."""
    app = export_app
    tenant_id, identities = _seed(app, organisations=1)
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(
            insert(Organisation),
            [
                {
                    "tenant_id": tenant_id,
                    "kind": "firm",
                    "name": f"Bulk Firm {n:05d}",
                    "country": "FR",
                    "city": "Lyon",
                    "employees": n % 400,
                }
                for n in range(21_499)
            ],
        )
        db.session.commit()
    client = client_as(app, identities[0])
    began = time.perf_counter()
    started = client.get(f"/{SLUG}/members/export.xlsx?relation=all")
    answered = time.perf_counter() - began
    assert started.status_code == 302 and answered < 5  # the request only starts the job
    began = time.perf_counter()
    work(app)
    built = time.perf_counter() - began
    with app.app_context(), tenant_scope(tenant_id):
        run = db.session.scalar(select(JobRun).where(JobRun.kind == "export.xlsx"))
        assert run.status == "finished" and run.result["rows"] == 21_500
        assert run.message and "of 21,500 rows" in run.message  # progress was written
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "21,500 rows" in page
    download = client.get(_link(page))
    rows = load_workbook(io.BytesIO(download.data), read_only=True).active.max_row
    assert rows == 21_501
    with capsys.disabled():
        print(
            f"\n21,500-row XLSX export: request {answered * 1000:.0f} ms, "
            f"job {built:.1f} s, file {len(download.data) / 1e6:.1f} MB"
        )


def test_a_large_project_list_exports_through_the_job_too(export_app):
    app = export_app
    tenant_id, identities = _seed(app, organisations=0)
    with app.app_context():
        make = Factories(db.session)
        for n in range(5):
            make.project(db.session.get(Tenant, tenant_id), acronym=f"EXP{n}", status="funded")
        db.session.commit()
    client = client_as(app, identities[0])
    started = client.get(f"/{SLUG}/projects?format=xlsx&status=funded")
    assert started.status_code == 302
    if "crm.redis" in app.extensions:
        work(app)
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "5 rows" in page
    sheet = load_workbook(io.BytesIO(client.get(_link(page)).data)).active
    acronyms = sorted(row[4] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert acronyms == [f"EXP{n}" for n in range(5)]
    # A filter that leaves three rows or fewer answers at once.
    assert client.get(f"/{SLUG}/projects?format=xlsx&status=rejected").status_code == 200


# -- expired files are deleted -------------------------------------------------------


def _export_files(app, expired_hours_ago: dict[str, int | None]) -> dict[str, int]:
    """A tenant per slug, each with one export file that expired that many hours
    ago (None: still valid); their tenant ids."""
    tenant_ids = {}
    with app.app_context():
        make = Factories(db.session)
        for slug in expired_hours_ago:
            tenant_ids[slug] = make.tenant(slug=slug).id
        db.session.commit()
    for n, (slug, hours) in enumerate(expired_hours_ago.items(), start=1):
        with app.app_context(), tenant_scope(tenant_ids[slug]):
            now = utcnow()
            db.session.add(
                ExportFile(
                    tenant_id=tenant_ids[slug],
                    run_id=n,
                    kind="members",
                    filename=f"{slug}.xlsx",
                    rows=1,
                    content=b"PK",
                    expires_at=now - timedelta(hours=hours) if hours else now + timedelta(hours=1),
                )
            )
            db.session.commit()
    return tenant_ids


def _files_left(app, tenant_ids: dict[str, int]) -> dict[str, int]:
    left = {}
    for slug, tenant_id in tenant_ids.items():
        with app.app_context(), tenant_scope(tenant_id):
            left[slug] = db.session.scalar(select(func.count(ExportFile.id)))
    return left


def test_the_purge_command_deletes_expired_files_of_every_association(export_app):
    app = export_app
    tenant_ids = _export_files(app, {"purge-a": 2, "purge-b": 30, "purge-c": None})
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["crm", "purge-exports"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 expired export file(s)" in result.output
    assert _files_left(app, tenant_ids) == {"purge-a": 0, "purge-b": 0, "purge-c": 1}
    with app.app_context():
        again = app.test_cli_runner().invoke(args=["crm", "purge-exports"])
    assert "deleted 0 expired export file(s)" in again.output


def test_the_nightly_schedule_deletes_expired_files(make_app, database_urls, redis_url):
    """``rq cron crm.metrics.schedule`` enqueues the purge; a real worker runs it."""
    with jobs_app(make_app, database_urls, redis_url) as app:
        tenant_ids = _export_files(app, {"purge-a": 1, "purge-c": None})
        connection = app.extensions["crm.redis"]
        scheduler = CronScheduler(connection=connection)
        scheduler.load_config_from_file("crm.metrics.schedule")  # what `rq cron` does
        (purge,) = [j for j in scheduler.get_jobs() if j.name == "downloads-purge-expired-exports"]
        job = purge.enqueue(connection)
        work(app)
        assert job.get_status(refresh=True) == "finished" and job.return_value() == 1
        assert _files_left(app, tenant_ids) == {"purge-a": 0, "purge-c": 1}
