"""The nightly schedule, as an ``rq cron`` configuration module.

    rq cron crm.metrics.schedule --url "$REDIS_URL"

enqueues the alliance refresh (which also refreshes every tenant's snapshot)
on the ``crm`` queue at 02:30 UTC; an ``rq worker crm -w crm.worker.Worker``
runs it. Importing this module registers the job with rq's cron registry, so
only ``rq cron`` should import it. ``rq cron`` builds no app: the settings
are read from ``config.Default`` (environment overrides do not reach them).
"""

from rq import cron

from config import Default
from crm.jobs import QUEUE_NAME
from crm.metrics.jobs import refresh_alliance

NIGHTLY = "30 2 * * *"  # minute hour day month weekday, UTC

cron.register(
    refresh_alliance,
    QUEUE_NAME,
    cron=NIGHTLY,
    job_timeout=Default.NIGHTLY_METRICS_TIMEOUT,
    result_ttl=Default.JOB_RESULT_TTL,
    failure_ttl=Default.JOB_FAILURE_TTL,
    name="metrics-nightly-alliance-refresh",
)
