"""The nightly schedule, as an ``rq cron`` configuration module.

    rq cron crm.metrics.schedule --url "$REDIS_URL"

enqueues the alliance refresh (which also refreshes every tenant's snapshot)
on the ``crm`` queue at 02:30 UTC; an ``rq worker crm`` runs it. Importing
this module registers the job with rq's cron registry, so only ``rq cron``
should import it.
"""

from rq import cron

from crm.jobs import QUEUE_NAME
from crm.metrics.jobs import refresh_alliance

NIGHTLY = "30 2 * * *"  # minute hour day month weekday, UTC

cron.register(
    refresh_alliance,
    QUEUE_NAME,
    cron=NIGHTLY,
    job_timeout=600,
    failure_ttl=7 * 24 * 3600,
    name="metrics-nightly-alliance-refresh",
)
