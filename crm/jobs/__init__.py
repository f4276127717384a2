"""Running background work: on rq when Redis is configured, in-process otherwise.

Jobs receive ids, never ORM objects, and open their own app context and
session (``job_context``). Enqueue only after the commit that created the
rows a job reads, or the worker may start before they exist.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context
from rq import Queue, Retry
from sqlalchemy import update

from crm.extensions import db, redis_connection
from crm.models import JobRun
from crm.models.base import utcnow
from crm.tenancy import current_tenant_id, set_database_tenant

QUEUE_NAME = "crm"
_worker_app: Flask | None = None


def queue() -> Queue | None:
    connection = redis_connection()
    return Queue(QUEUE_NAME, connection=connection) if connection is not None else None


def enqueue(func: Callable, *args, retries: int = 2, **kwargs) -> str | None:
    """Run ``func(*args)`` on the worker, or right here when there is no Redis.

    Returns the rq job id, or None when the work already ran in-process.
    """
    q = queue()
    if q is None:
        func(*args, **kwargs)
        return None
    job = q.enqueue(
        func,
        args=args,
        kwargs=kwargs,
        job_timeout=current_app.config["JOB_TIMEOUT"],
        retry=Retry(max=retries, interval=[5, 30]) if retries else None,
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,
    )
    return job.id


def worker_app() -> Flask:
    """The app this worker process runs jobs with, built once.

    Its engines are disposed right away, so a forking worker never hands an
    open connection to its work horses.
    """
    global _worker_app
    if _worker_app is None:
        from crm import create_app

        app = create_app()
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
        _worker_app = app
    return _worker_app


@contextmanager
def job_context() -> Iterator[None]:
    """A fresh app context (and so a fresh session) for one job run."""
    app = current_app._get_current_object() if has_app_context() else worker_app()
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()


def _set_run(run_id: int, **values) -> None:
    """Write a JobRun's state in its own short transaction, so it is visible
    while the job's main transaction is still open."""
    with db.engine.begin() as connection:
        set_database_tenant(connection, current_tenant_id())  # RLS on job_runs
        connection.execute(update(JobRun).where(JobRun.id == run_id).values(**values))


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
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    _set_run(run_id, status="failed", finished_at=utcnow(), error=detail[:4000])
