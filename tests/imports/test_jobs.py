"""Large files run as a background job: on a real rq worker with Redis, or in-process."""

from __future__ import annotations

import gc
import io

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from crm.demo.numbers import vat_number
from crm.extensions import db
from crm.imports.jobs import collector_paused
from crm.jobs import QUEUE_NAME
from crm.models import ImportBatch, JobRun, Organisation
from crm.tenancy import tenant_scope
from tests.imports.conftest import signed_in

ROWS = 40


def work(app) -> int:
    """Run a real rq worker in this process until the queue is empty; jobs run."""
    connection = app.extensions["crm.redis"]
    queue = Queue(QUEUE_NAME, connection=connection)
    pending = queue.count
    with app.app_context():
        db.session.remove()  # an open read transaction would hold up the job
        SimpleWorker([queue], connection=connection).work(burst=True)
    return pending


def upload(app, client, slug: str, tenant_id: int, data: bytes, filename: str):
    """Upload an organisations file; return the batch id and the suggested mapping as a form."""
    response = client.post(
        f"/{slug}/imports",
        data={"kind": "organisations", "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    batch_id = int(response.headers["Location"].split("/")[-2])
    with app.app_context(), tenant_scope(tenant_id):
        mapping = db.session.get(ImportBatch, batch_id).mapping
    return batch_id, {f"map_{key}": header for key, header in mapping.items()}


def big_csv() -> bytes:
    lines = ["Nazwa;Miasto;NIP;Liczba pracowników;Przychody"]
    lines += [
        f"Firma {i};Kraków;{vat_number('PL', '', i)};{i % 300};{i * 1000},50" for i in range(ROWS)
    ]
    return ("\n".join(lines) + "\n").encode("cp1252", errors="replace")


@pytest.mark.parametrize("job_app", ["rq", "in-process"], indirect=True)
def test_large_file_runs_in_the_background_with_progress(job_app):
    app = job_app
    slug = "assoc-jobs"
    client, tenant_id = signed_in(app, slug, country="PL")
    batch_id, form = upload(app, client, slug, tenant_id, big_csv(), "firmy.csv")
    assert form["map_employees"] == "Liczba pracowników"
    background = "crm.redis" in app.extensions

    # Dry run.
    response = client.post(f"/{slug}/imports/{batch_id}/mapping", data=form)
    assert response.status_code == 302
    status = client.get(f"/{slug}/imports/{batch_id}/status").json
    if background:
        assert status["status"] == "queued" and status["batch_status"] == "checking"
        page = client.get(f"/{slug}/imports/{batch_id}").get_data(as_text=True)
        assert "data-poll-url" in page and "<progress" in page
        assert work(app) == 1
        status = client.get(f"/{slug}/imports/{batch_id}/status").json
    assert status["status"] == "finished" and status["batch_status"] == "checked"
    assert (status["created"], status["rejected"], status["progress"]) == (ROWS, 0, 100)
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0

    # Commit.
    assert client.post(f"/{slug}/imports/{batch_id}/commit").status_code == 302
    if background:
        assert client.get(f"/{slug}/imports/{batch_id}/status").json["status"] == "queued"
        assert work(app) == 1
    status = client.get(f"/{slug}/imports/{batch_id}/status").json
    assert status["batch_status"] == "committed" and status["created"] == ROWS
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == ROWS
        run = db.session.get(JobRun, db.session.get(ImportBatch, batch_id).job_run_id)
        assert (run.status, run.progress, run.kind) == ("finished", 100, "import.commit")
        assert run.result["created"] == ROWS
        assert (run.rq_job_id is not None) == background
        big = db.session.scalar(select(Organisation).where(Organisation.name == "Firma 39"))
        assert big.turnover_eur == 39_001 and big.employees == 39

    # The same file again, through the job: nothing new.
    again_id, _form = upload(app, client, slug, tenant_id, big_csv(), "firmy.csv")
    client.post(f"/{slug}/imports/{again_id}/mapping", data=form)
    if background:
        work(app)
    status = client.get(f"/{slug}/imports/{again_id}/status").json
    assert (status["created"], status["unchanged"]) == (0, ROWS)


@pytest.mark.parametrize("job_app", ["in-process"], indirect=True)
def test_a_failing_job_marks_the_batch_failed_and_writes_nothing(job_app):
    app = job_app
    slug, batches = "assoc-fail", []

    def setup(make, tenant):
        batches.append(make.import_batch(tenant, content=b"%PDF-1.4 not a table", row_count=10).id)

    client, tenant_id = signed_in(app, slug, role="tenant_admin", setup=setup)
    batch_id = batches[0]
    client.post(f"/{slug}/imports/{batch_id}/mapping", data={"map_name": "name"})
    status = client.get(f"/{slug}/imports/{batch_id}/status").json
    assert status["status"] == "failed" and "not a spreadsheet" in status["message"]
    page = client.get(f"/{slug}/imports/{batch_id}").get_data(as_text=True)
    assert "The import stopped" in page
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0
        run = db.session.get(JobRun, db.session.get(ImportBatch, batch_id).job_run_id)
        assert run.status == "failed" and "not a spreadsheet" in run.error


def collector_state() -> bool:
    """Whether cyclic garbage collection runs inside an import's pause (a job function)."""
    with collector_paused():
        return gc.isenabled()


def test_collection_pauses_on_a_worker_only(redis_url):
    """A worker has its process to itself; in-process, the job shares the web server's."""
    assert collector_state() is True
    connection = Redis.from_url(redis_url)
    try:
        queue = Queue("crm-gc-test", connection=connection)
        job = queue.enqueue(collector_state)
        SimpleWorker([queue], connection=connection).work(burst=True)
        assert job.return_value() is False
    finally:
        queue.delete(delete_jobs=True)
        connection.close()
