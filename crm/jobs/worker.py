"""An rq worker that loads the application once, before it forks work horses.

rq's default ``Worker`` forks a work horse per job, and a plain ``rq worker`` has
not imported the project: every horse imported Flask, SQLAlchemy and ``crm`` and
built the app again (1.5 to 2 s a job on two shared cores, most of a refresh).
This class does both in the worker process, so each horse inherits them by fork::

    rq worker crm --with-scheduler -w crm.jobs.worker.Worker --url "$REDIS_URL"

The worker process itself never opens a database connection (its engines are
disposed after the app is built), so no connection is shared across a fork.
"""

from __future__ import annotations

from rq import Worker as RqWorker

from crm import jobs
from crm.imports import jobs as import_jobs  # noqa: F401  (the job functions, preloaded)
from crm.metrics import jobs as metric_jobs  # noqa: F401


class Worker(RqWorker):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        jobs.worker_app()
