"""Background work: the one door to the queue (``start_run``) and a run's recorded state.

``start_run`` commits a ``JobRun`` (so the worker can see it), then runs the
job on rq when Redis is configured, or in-process otherwise. A job is a
module-level function taking ids (never ORM objects) and, as its LAST
positional argument, the id of its run: ``func(*args, run_id)``. Either way it
runs through ``perform``, which records on the run that it started, finished
or failed; the job may add progress, a message and a result itself.

This package sits below the app factory and the areas: it never imports
``crm`` (the factory) or ``crm.worker``. A job gets its app from the current
app context or, on a worker, from the app ``crm.worker`` registers here
(``use_app``).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

from flask import Flask, current_app, has_app_context
from rq import Queue, Retry, get_current_job
from sqlalchemy import update

from crm.extensions import db, redis_connection
from crm.models import JobRun
from crm.models.base import utcnow
from crm.tenancy import current_tenant_id, set_database_tenant, tenant_scope

QUEUE_NAME = "crm"
ACTIVE = ("queued", "running")
_app: Flask | None = None  # the worker's app (crm.worker), when there is no app context


def use_app(app: Flask | None) -> None:
    """Run jobs outside an app context with ``app`` (the worker process's, built once)."""
    global _app
    _app = app


def queue() -> Queue | None:
    connection = redis_connection()
    return Queue(QUEUE_NAME, connection=connection) if connection is not None else None


def settings(kind: str) -> dict:
    """The configured timeout, retries and retry intervals of one kind of job."""
    try:
        return current_app.config["JOBS"][kind]
    except KeyError:
        raise LookupError(f"no settings for job kind {kind!r}: add it to JOBS in config/") from None


def start_run(
    kind: str,
    func: Callable[..., Any],
    *args: Any,
    tenant_id: int | None,
    user_id: int | None = None,
    timeout: int | None = None,
    retries: int | None = None,
    message: str | None = None,
    on_created: Callable[[JobRun], None] | None = None,
    in_process: bool = False,
) -> JobRun:
    """Record a run of ``func(*args, run_id)`` and start it; return the run (reloaded).

    Commits the caller's session together with the new run: ``on_created(run)``
    is called after the run is flushed (it has its id) and before that commit,
    for rows that must point at the run from the start. Without Redis the job
    runs here and now; its exception is recorded on the run and logged, not
    raised. With Redis it is enqueued with the kind's configured timeout and
    retries (``timeout``/``retries`` override them), and the rq job id is on
    the run. ``func`` must be importable by name (rq pickles a reference).
    ``in_process``: run it here even when Redis is configured (a shell command's
    "now"); its outcome is on the returned run.
    """
    config = current_app.config
    job = settings(kind)
    timeout = job["timeout"] if timeout is None else timeout
    retries = job["retries"] if retries is None else retries
    q = None if in_process else queue()
    rq_job_id = None if q is None else str(uuid4())  # chosen here, so it is committed with the run
    run_id = create_run(
        kind, tenant_id, user_id, message=message, rq_job_id=rq_job_id, on_created=on_created
    )
    if q is None:
        try:
            perform(func, args, run_id, tenant_id)
        except Exception:  # recorded on the run; the page shows it
            current_app.logger.exception("job %s (run %s) failed", kind, run_id)
    else:
        try:
            q.enqueue(
                perform,
                args=(func, args, run_id, tenant_id),
                job_id=rq_job_id,
                job_timeout=timeout,
                retry=_retry(retries, job["retry_intervals"]),
                result_ttl=config["JOB_RESULT_TTL"],
                failure_ttl=config["JOB_FAILURE_TTL"],
                description=f"{kind} run {run_id}: {func.__module__}.{func.__qualname__}",
            )
        except Exception as exc:  # Redis unreachable: say so on the run instead of a 500
            current_app.logger.exception("job %s (run %s) could not be enqueued", kind, run_id)
            with tenant_scope(tenant_id):
                run_failed(run_id, exc)
    with tenant_scope(tenant_id):
        return db.session.get(JobRun, run_id)


def create_run(
    kind: str,
    tenant_id: int | None,
    user_id: int | None = None,
    *,
    message: str | None = None,
    rq_job_id: str | None = None,
    on_created: Callable[[JobRun], None] | None = None,
) -> int:
    """A queued JobRun, committed with the session's other changes (the worker must see it).

    Returns its id, read before the commit: reading it afterwards would reload
    the row in a new transaction that stays open (idle) for as long as the
    caller then runs the job.
    """
    with tenant_scope(tenant_id):
        run = JobRun(
            kind=kind,
            tenant_id=tenant_id,
            status="queued",
            progress=0,
            message=message,
            rq_job_id=rq_job_id,
            requested_by_id=user_id,
        )
        db.session.add(run)
        db.session.flush()
        if on_created is not None:
            on_created(run)
        run_id = run.id
        db.session.commit()
    return run_id


def perform(func: Callable[..., Any], args: tuple, run_id: int, tenant_id: int | None) -> Any:
    """Run ``func(*args, run_id)`` and record the outcome on the run (the job rq runs).

    A failure is recorded, then re-raised, so rq retries it (the run goes back
    to queued, its error kept) and, when retries run out, keeps the job in its
    failed registry. A job that returns without recording an end is finished
    here, with its result if that is a dict.
    """
    with job_context(), tenant_scope(tenant_id):  # tenant scope: RLS on job_runs
        run_started(run_id)
        try:
            result = func(*args, run_id)
        except Exception as exc:
            current = get_current_job()
            if current is not None and current.should_retry:
                _set_run(
                    run_id,
                    status="queued",
                    finished_at=None,
                    message="failed; will be retried",
                    error=_detail(exc),
                )
            else:
                run_failed(run_id, exc)
            raise
        _set_run(
            run_id,
            _only_active=True,
            status="finished",
            progress=100,
            finished_at=utcnow(),
            result=result if isinstance(result, dict) else None,
        )
        return result


def _retry(retries: int, intervals: list[int]) -> Retry | None:
    # rq indexes the intervals on each retry: an empty list must become "no wait".
    return Retry(max=retries, interval=intervals or 0) if retries else None


def job_app() -> Flask:
    """The app a job runs with: the current one, else the one the worker registered."""
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        raise RuntimeError(
            "no app for this job: run it in an app context, or on the worker "
            "(rq worker crm -w crm.worker.Worker), which builds one"
        )
    return _app


@contextmanager
def job_context() -> Iterator[None]:
    """A fresh app context (and so a fresh session) for one job run."""
    with job_app().app_context():
        try:
            yield
        finally:
            db.session.remove()


def _set_run(run_id: int, *, _only_active: bool = False, **values) -> None:
    """Write a JobRun's state in its own short transaction, so it is visible
    while the job's main transaction is still open. ``_only_active``: leave a
    run alone that the job already marked finished or failed."""
    statement = update(JobRun).where(JobRun.id == run_id)
    if _only_active:
        statement = statement.where(JobRun.status.in_(ACTIVE))
    with db.engine.begin() as connection:
        set_database_tenant(connection, current_tenant_id())  # RLS on job_runs
        connection.execute(statement.values(**values))


def run_started(run_id: int, message: str | None = None) -> None:
    _set_run(run_id, status="running", started_at=utcnow(), progress=0, error=None, message=message)


def run_progress(run_id: int, percent: int, message: str | None = None) -> None:
    _set_run(run_id, progress=max(0, min(100, int(percent))), message=message)


def run_finished(run_id: int, result: dict | None = None, message: str | None = None) -> None:
    _set_run(
        run_id,
        status="finished",
        progress=100,
        finished_at=utcnow(),
        result=result,
        message=message,
    )


def run_failed(run_id: int, exc: BaseException) -> None:
    _set_run(run_id, status="failed", finished_at=utcnow(), error=_detail(exc))


def _detail(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
