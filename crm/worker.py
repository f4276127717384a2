"""The rq worker: loads the application once, before it forks work horses.

rq's default ``Worker`` forks a work horse per job, and a plain ``rq worker`` has
not imported the project: every horse imported Flask, SQLAlchemy and ``crm`` and
built the app again (1.5 to 2 s a job on two shared cores, most of a refresh).
This class does both in the worker process, so each horse inherits them by fork::

    rq worker crm --with-scheduler -w crm.worker.Worker --url "$REDIS_URL"

The worker process itself never opens a database connection (its engines are
disposed after the app is built), so no connection is shared across a fork.
The app is handed to ``crm.jobs`` (``use_app``): jobs find it there, so the job
package never imports the factory.
"""

from __future__ import annotations

from flask import Flask
from rq import Worker as RqWorker

from crm import create_app, jobs
from crm.downloads import exports as export_jobs  # noqa: F401  (the job functions, preloaded)
from crm.extensions import db
from crm.imports import jobs as import_jobs  # noqa: F401
from crm.metrics import jobs as metric_jobs  # noqa: F401

_app: Flask | None = None


def worker_app() -> Flask:
    """The app this worker process runs jobs with, built once and registered with ``crm.jobs``.

    Its engines are disposed right away, so a forking worker never hands an
    open connection to its work horses.
    """
    global _app
    if _app is None:
        app = create_app({"JOB_PROCESS": True})  # the job limits on its connections
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
        jobs.use_app(app)
        _app = app
    return _app


class Worker(RqWorker):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        worker_app()
