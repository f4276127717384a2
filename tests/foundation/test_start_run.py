"""``crm.jobs.start_run``, the one door to the queue: in-process without Redis, and on
rq with a real Redis and a real worker (``SimpleWorker``, burst, in this process)."""

from __future__ import annotations

import logging

import pytest
from flask import current_app
from rq import SimpleWorker, get_current_job
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import create_engine, select

from config import Default
from crm import jobs
from crm.extensions import db
from crm.models import JobRun, Organisation, Tenant
from crm.tenancy import tenant_scope
from tests.factories import Factories
from tests.metrics.conftest import work

KIND = "metrics.tenant"  # any configured kind; these jobs are the test's own


# -- jobs (module level: rq pickles a reference to the function) ---------------------------


def record(tenant_id: int, word: str, run_id: int) -> dict:
    """Read its own run under its tenant; say what it saw."""
    with jobs.job_context(), tenant_scope(tenant_id):
        run = db.session.get(JobRun, run_id)
        return {"word": word, "status_seen": run.status, "on_worker": get_current_job() is not None}


def fail(word: str, run_id: int) -> None:
    raise ValueError(f"cannot {word} (run {run_id})")


def mark_itself_failed(tenant_id: int, run_id: int) -> None:
    """Record its own failure and return (as an import does with a bad file)."""
    with jobs.job_context(), tenant_scope(tenant_id):
        jobs.run_failed(run_id, LookupError("the file is gone"))


def _tenant(app) -> int:
    with app.app_context():
        tenant_id = Factories(db.session).tenant().id
        db.session.commit()
        db.session.remove()
    return tenant_id


def _run(app, run_id: int, tenant_id: int | None) -> JobRun:
    with app.app_context(), tenant_scope(tenant_id):
        run = db.session.get(JobRun, run_id)
        db.session.expunge(run)
        return run


# -- without Redis: in-process --------------------------------------------------------------


def test_without_redis_the_job_runs_here_and_its_run_is_finished(job_app):
    app = job_app()
    tenant_id = _tenant(app)
    with app.app_context():
        run = jobs.start_run(KIND, record, tenant_id, "hello", tenant_id=tenant_id)
        assert run.status == "finished" and run.rq_job_id is None
    run = _run(app, run.id, tenant_id)
    assert run.kind == KIND and run.tenant_id == tenant_id and run.progress == 100
    assert run.result == {"word": "hello", "status_seen": "running", "on_worker": False}
    assert run.started_at and run.finished_at and run.error is None


def test_without_redis_a_failure_is_recorded_and_logged_not_raised(job_app, caplog):
    app = job_app()
    with app.app_context(), caplog.at_level(logging.ERROR):
        run = jobs.start_run(KIND, fail, "compute", tenant_id=None)
    assert run.status == "failed" and run.finished_at
    assert run.error == f"ValueError: cannot compute (run {run.id})"
    assert any(f"run {run.id}" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_job_that_records_its_own_end_keeps_it(job_app):
    app = job_app()
    tenant_id = _tenant(app)
    with app.app_context():
        run = jobs.start_run(KIND, mark_itself_failed, tenant_id, tenant_id=tenant_id)
    assert run.status == "failed" and run.error == "LookupError: the file is gone"


def test_on_created_rows_are_committed_with_the_run(job_app, database_urls):
    app = job_app()
    tenant_id = _tenant(app)
    with app.app_context(), tenant_scope(tenant_id):
        org = Factories(db.session).org(db.session.get(Tenant, tenant_id))
        db.session.commit()
        org_id = org.id

        def point_at(run: JobRun) -> None:
            org.description = f"waiting for run {run.id}"

        run = jobs.start_run(
            KIND,
            record,
            tenant_id,
            "linked",
            tenant_id=tenant_id,
            message="waiting for the worker",
            on_created=point_at,
        )
    engine = create_engine(database_urls["owner"])
    with engine.connect() as connection:
        description = connection.scalar(
            select(Organisation.description).where(Organisation.id == org_id)
        )
    engine.dispose()
    assert description == f"waiting for run {run.id}"


def test_an_unknown_kind_is_refused_before_any_run(job_app):
    app = job_app()
    with app.app_context():
        with pytest.raises(LookupError, match="no settings for job kind 'reports.weekly'"):
            jobs.start_run("reports.weekly", record, 1, "x", tenant_id=None)
        assert db.session.scalar(select(JobRun.id)) is None


def test_outside_an_app_context_a_job_needs_the_workers_app(job_app, monkeypatch):
    monkeypatch.setattr(jobs, "_app", None)
    with pytest.raises(RuntimeError, match="crm.worker.Worker"):
        jobs.job_app()
    app = job_app()
    jobs.use_app(app)  # what crm.worker does once per worker process
    with jobs.job_context():
        assert current_app._get_current_object() is app


# -- with Redis: rq ---------------------------------------------------------------------------


def test_on_rq_the_run_goes_from_queued_to_finished(job_app, redis_url, queue):
    app = job_app(REDIS_URL=redis_url)
    tenant_id = _tenant(app)
    with app.app_context():
        run = jobs.start_run(KIND, record, tenant_id, "queued", tenant_id=tenant_id, user_id=None)
    assert run.status == "queued" and run.rq_job_id and run.started_at is None
    job = Job.fetch(run.rq_job_id, connection=queue.connection)
    assert job.func is jobs.perform
    assert job.args == (record, (tenant_id, "queued"), run.id, tenant_id)
    work(app, queue)
    run = _run(app, run.id, tenant_id)
    assert run.status == "finished" and run.progress == 100
    assert run.result == {"word": "queued", "status_seen": "running", "on_worker": True}
    assert job.get_status(refresh=True) == "finished"


def test_on_rq_the_configured_settings_are_on_the_job(job_app, redis_url, queue):
    settings = {"timeout": 123, "retries": 3, "retry_intervals": [5, 60]}
    app = job_app(REDIS_URL=redis_url, JOBS={**Default.JOBS, KIND: settings})
    with app.app_context():
        configured = jobs.start_run(KIND, record, 0, "x", tenant_id=None).rq_job_id
        overridden = jobs.start_run(
            KIND, record, 0, "x", tenant_id=None, timeout=7, retries=0
        ).rq_job_id
    job = Job.fetch(configured, connection=queue.connection)
    assert (job.timeout, job.retries_left, job.retry_intervals) == (123, 3, [5, 60])
    assert (job.result_ttl, job.failure_ttl) == (Default.JOB_RESULT_TTL, Default.JOB_FAILURE_TTL)
    job = Job.fetch(overridden, connection=queue.connection)
    assert (job.timeout, job.retries_left) == (7, None)


def test_on_rq_a_failing_job_marks_its_run_failed(job_app, redis_url, queue):
    app = job_app(REDIS_URL=redis_url)
    with app.app_context():
        run = jobs.start_run(KIND, fail, "finish", tenant_id=None, retries=0)
    work(app, queue)
    run = _run(app, run.id, None)
    assert run.status == "failed" and run.finished_at
    assert run.error == f"ValueError: cannot finish (run {run.id})"
    assert run.rq_job_id in FailedJobRegistry(queue=queue).get_job_ids()


def test_on_rq_a_retried_failure_is_queued_again_then_failed(job_app, redis_url, queue):
    settings = {"timeout": 60, "retries": 1, "retry_intervals": [0]}
    app = job_app(REDIS_URL=redis_url, JOBS={**Default.JOBS, KIND: settings})
    with app.app_context():
        run = jobs.start_run(KIND, fail, "retry", tenant_id=None)
    with app.app_context():
        db.session.remove()
        worker = SimpleWorker([queue], connection=queue.connection)
        worker.work(burst=True, max_jobs=1)  # the first attempt only
    first = _run(app, run.id, None)
    assert first.status == "queued" and first.message == "failed; will be retried"
    assert "cannot retry" in first.error
    work(app, queue)  # the retry, requeued at once
    run = _run(app, run.id, None)
    assert run.status == "failed" and "cannot retry" in run.error
    assert Job.fetch(run.rq_job_id, connection=queue.connection).retries_left == 0


def test_when_redis_is_unreachable_the_run_says_so(job_app):
    app = job_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    with app.app_context():
        with pytest.raises(jobs.Unavailable, match="Background work is unavailable") as raised:
            jobs.start_run(KIND, record, 0, "x", tenant_id=None)
    run = _run(app, raised.value.run.id, None)
    assert run.status == "failed" and "ConnectionError" in run.error and run.finished_at


# -- the language a job speaks -----------------------------------------------------------------


def speak(tenant_id: int, run_id: int) -> dict:
    """Say which language and which number format the job's texts take."""
    from crm.formats import number
    from crm.i18n import current_language

    with jobs.job_context(), tenant_scope(tenant_id):
        return {"language": current_language(), "number": number(1234.5)}


def test_a_job_speaks_its_requesters_language_else_its_associations(job_app):
    app = job_app()
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(country="PL")
        polish_speaker = make.user(tenant, language="pl")
        undecided = make.user(tenant, language=None)
        db.session.flush()
        ids = tenant.id, polish_speaker.id, undecided.id  # read before RLS hides the users
        db.session.commit()
        db.session.remove()
    tenant_id, polish_id, undecided_id = ids
    with app.app_context():
        said = {
            who: jobs.start_run(KIND, speak, tenant_id, tenant_id=tenant_id, user_id=user).result
            for who, user in (("user", polish_id), ("association", undecided_id), ("nobody", None))
        }
    # Polish writes 1 234,5 (a no-break space groups the thousands).
    assert said["user"] == {"language": "pl", "number": "1\xa0234,5"}
    assert said["association"] == said["nobody"] == said["user"]
