"""The nightly schedule, as an ``rq cron`` configuration module.

    rq cron crm.metrics.schedule --url "$REDIS_URL"

enqueues the alliance refresh (which also refreshes every tenant's snapshot)
on the ``crm`` queue at 02:30 UTC; an ``rq worker crm -w crm.worker.Worker``
runs it. Every five minutes it also enqueues ``crm.jobs.sweep``, which marks
"abandoned" the runs whose process died or that the queue lost (a page that
shows a run does the same for that run), at 03:30 UTC
``crm.downloads.exports.purge_expired_exports``, which deletes the export files
whose download link has expired, every day at 06:00 UTC each association's
renewal reminders, and every minute the scheduled mailings whose time has come
(crm/mailings/jobs.py). Importing this module registers the
jobs with rq's cron registry, so
only ``rq cron`` should import it. ``rq cron`` builds no app: the settings
are read from ``config.Default`` (environment overrides do not reach them).
"""

from rq import cron

from config import Default
from crm.downloads.exports import purge_expired_exports
from crm.jobs import QUEUE_NAME, sweep
from crm.mailings.jobs import send_all_reminders, send_due_mailings
from crm.metrics.jobs import refresh_alliance

NIGHTLY = "30 2 * * *"  # minute hour day month weekday, UTC
SWEEP = "*/5 * * * *"
PURGE_EXPORTS = "30 3 * * *"  # after the refresh, still at night in Europe
REMINDERS = "0 6 * * *"  # renewal reminders: early morning, after the night's refresh
EVERY_MINUTE = "* * * * *"  # scheduled mailings that are due

# (job, when, seconds it may run, seconds its result is kept, name)
SCHEDULE = [
    (
        refresh_alliance,
        NIGHTLY,
        Default.NIGHTLY_METRICS_TIMEOUT,
        Default.JOB_RESULT_TTL,
        "metrics-nightly-alliance-refresh",
    ),
    (sweep, SWEEP, 120, 3600, "jobs-sweep-abandoned-runs"),
    (
        purge_expired_exports,
        PURGE_EXPORTS,
        600,
        Default.JOB_RESULT_TTL,
        "downloads-purge-expired-exports",
    ),
    (
        send_all_reminders,
        REMINDERS,
        600,
        Default.JOB_RESULT_TTL,
        "mailings-nightly-renewal-reminders",
    ),
    (send_due_mailings, EVERY_MINUTE, 120, 600, "mailings-dispatch-scheduled"),
]

for job, when, timeout, result_ttl, name in SCHEDULE:
    cron.register(
        job,
        QUEUE_NAME,
        cron=when,
        job_timeout=timeout,
        result_ttl=result_ttl,
        failure_ttl=Default.JOB_FAILURE_TTL,
        name=name,
    )
