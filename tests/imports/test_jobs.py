"""Large files run as a background job: on a real rq worker with Redis, or in-process."""

from __future__ import annotations

import io

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from crm.extensions import db
from crm.jobs import QUEUE_NAME
from crm.models import ImportBatch, JobRun, Organisation
from crm.tenancy import tenant_scope
from tests import factories
from tests.conftest import IsolatedClient, _truncate_all

ROWS = 40


@pytest.fixture
def job_app(make_app, database_urls, request):
    """An app whose data commits (the worker cannot see a test transaction); files above
    three rows go to the background; Redis when the test asks for it."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "rq" else None
    app = make_app(REDIS_URL=redis_url, IMPORT_INLINE_MAX_ROWS=3)
    app.test_client_class = IsolatedClient
    connection = Redis.from_url(redis_url) if redis_url else None
    if connection is not None:
        connection.flushdb()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if connection is not None:
            connection.flushdb()
            connection.close()
        _truncate_all(database_urls["owner"])


def work(app) -> int:
    """Run a real rq worker in this process until the queue is empty; jobs run."""
    connection = app.extensions["crm.redis"]
    queue = Queue(QUEUE_NAME, connection=connection)
    pending = queue.count
    with app.app_context():
        db.session.remove()  # an open read transaction would hold up the job
        SimpleWorker([queue], connection=connection).work(burst=True)
    return pending


def big_csv() -> bytes:
    lines = ["Nazwa;Miasto;NIP;Liczba pracowników;Przychody"]
    lines += [f"Firma {i};Kraków;PL{i:010d};{i % 300};{i * 1000},50" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode("cp1252", errors="replace")


@pytest.mark.parametrize("job_app", ["rq", "in-process"], indirect=True)
def test_large_file_runs_in_the_background_with_progress(job_app):
    app = job_app
    with app.app_context():
        make = factories.Factories(db.session)
        tenant = make.tenant(slug="assoc-jobs", country="PL")
        user = make.user(tenant, role="secretariat")
        tenant_id, slug, user_key = tenant.id, tenant.slug, user.get_id()
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user_key
        sess["_fresh"] = True
    upload = client.post(
        f"/{slug}/imports",
        data={"kind": "organisations", "file": (io.BytesIO(big_csv()), "firmy.csv")},
        content_type="multipart/form-data",
    )
    batch_id = int(upload.headers["Location"].split("/")[-2])
    with app.app_context(), tenant_scope(tenant_id):
        mapping = db.session.get(ImportBatch, batch_id).mapping
    assert mapping["employees"] == "Liczba pracowników"
    form = {f"map_{key}": header for key, header in mapping.items()}
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
        assert (run.status, run.progress, run.kind) == ("finished", 100, "import_commit")
        assert run.result["created"] == ROWS
        assert (run.rq_job_id is not None) == background
        big = db.session.scalar(select(Organisation).where(Organisation.name == "Firma 39"))
        assert big.turnover_eur == 39_001 and big.employees == 39

    # The same file again, through the job: nothing new.
    again = client.post(
        f"/{slug}/imports",
        data={"kind": "organisations", "file": (io.BytesIO(big_csv()), "firmy.csv")},
        content_type="multipart/form-data",
    )
    again_id = int(again.headers["Location"].split("/")[-2])
    client.post(f"/{slug}/imports/{again_id}/mapping", data=form)
    if background:
        work(app)
    status = client.get(f"/{slug}/imports/{again_id}/status").json
    assert (status["created"], status["unchanged"]) == (0, ROWS)


@pytest.mark.parametrize("job_app", ["in-process"], indirect=True)
def test_a_failing_job_marks_the_batch_failed_and_writes_nothing(job_app):
    app = job_app
    with app.app_context():
        make = factories.Factories(db.session)
        tenant = make.tenant(slug="assoc-fail")
        user = make.user(tenant, role="tenant_admin")
        batch = make.import_batch(tenant, content=b"%PDF-1.4 not a table", row_count=10)
        tenant_id, slug, user_key, batch_id = tenant.id, tenant.slug, user.get_id(), batch.id
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user_key
    client.post(f"/{slug}/imports/{batch_id}/mapping", data={"map_name": "name"})
    status = client.get(f"/{slug}/imports/{batch_id}/status").json
    assert status["status"] == "failed" and "not a spreadsheet" in status["message"]
    page = client.get(f"/{slug}/imports/{batch_id}").get_data(as_text=True)
    assert "The import stopped" in page
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0
        run = db.session.get(JobRun, db.session.get(ImportBatch, batch_id).job_run_id)
        assert run.status == "failed" and "ImportFileError" in run.error
