"""The metrics jobs: a tenant refresh and an alliance refresh.

Both are plain functions taking ids and their run's id last, started with
``crm.jobs.start_run`` (``start_refresh``) or, for the nightly alliance
refresh, by ``rq cron`` (``crm.metrics.schedule``), which passes no run: the
job then records its own. Each runs through ``crm.jobs.perform`` (the outcome
on a ``JobRun``; failures re-raised, so rq retries them) and stores one
complete snapshot (``crm.metrics.snapshots.refresh``).
"""

from __future__ import annotations

from rq import get_current_job

from crm import jobs
from crm.extensions import db
from crm.i18n import _
from crm.metrics import snapshots
from crm.models import JobRun, Tenant
from crm.tenancy import tenant_scope

ALLIANCE_KIND = "metrics.alliance"
TENANT_KIND = "metrics.tenant"


def refresh_alliance(run_id: int | None = None) -> dict:
    """Job: every metric alliance-wide, per country and per tenant (one snapshot each)."""
    if run_id is None:  # the nightly schedule (rq cron) passes no run
        return _nightly()
    return _run(None, run_id)


def refresh_tenant(tenant_id: int, run_id: int) -> dict:
    """Job: every metric for one tenant (its own snapshot)."""
    return _run(tenant_id, run_id)


def start_refresh(
    tenant_id: int | None, user_id: int | None = None, *, in_process: bool = False
) -> JobRun:
    """Start the refresh of one tenant's figures, or the alliance's (``tenant_id`` None),
    or join the one under way (the run's ``joined``). Raises ``crm.jobs.Unavailable``
    when the queue does not take it (the run is marked failed).

    Assumes the caller checked that the user may refresh this scope.
    """
    if tenant_id is None:
        func, kind, args = refresh_alliance, ALLIANCE_KIND, ()
    else:
        func, kind, args = refresh_tenant, TENANT_KIND, (tenant_id,)
    return jobs.start_run(
        kind,
        func,
        *args,
        tenant_id=tenant_id,
        user_id=user_id,
        in_process=in_process,
        exclusive=True,  # a second click, or another admin's, joins the run
    )


def request_refresh(tenant_id: int | None, user_id: int | None) -> tuple[str, str]:
    """Start (or join) a refresh for a person who clicked Refresh: what to tell them,
    and its flash category. Assumes the caller checked that they may."""
    try:
        run = start_refresh(tenant_id, user_id)
    except jobs.Unavailable as unavailable:
        return str(unavailable), "error"
    if run.joined:
        return "A refresh is already under way; its progress is shown below.", "info"
    if run.status == "failed":
        return _("The refresh failed; the error is shown below."), "error"
    if run.status == "finished":
        return _("The figures were refreshed."), "success"
    return _("Refresh started."), "info"


def _nightly() -> dict | None:
    """Record a run for the scheduled refresh, as ``start_run`` would, and perform it;
    nothing when an alliance refresh is already under way (it is today's)."""
    with jobs.job_context():
        current = get_current_job()
        if jobs.active_run(ALLIANCE_KIND, None) is not None:
            db.session.commit()  # the dead runs it found are marked abandoned
            return None
        run_id = jobs.create_run(
            ALLIANCE_KIND,
            None,
            rq_job_id=current.id if current else None,
            active_key=jobs.active_key(ALLIANCE_KIND, None),
        )
    if run_id is None:
        return None  # an admin's refresh started at the same moment
    return jobs.perform(refresh_alliance, (), run_id, None)


def _run(tenant_id: int | None, run_id: int) -> dict:
    """The refresh itself; ``crm.jobs.perform`` records a failure on the run."""
    with jobs.job_context(), tenant_scope(tenant_id):  # tenant scope: RLS on job_runs
        if tenant_id is not None:
            exists = db.session.get(Tenant, tenant_id) is not None
            # End the session's transaction now: held open across the refresh, it would
            # sit "idle in transaction" with an old snapshot (blocking vacuum).
            db.session.close()
            if not exists:
                raise LookupError(f"no tenant {tenant_id}")
        jobs.run_started(run_id, "computing")
        result = snapshots.refresh(
            tenant_id,
            run_id,
            progress=lambda pct, msg: jobs.run_progress(run_id, pct, msg),
        )
        jobs.run_finished(run_id, result, "snapshot stored")
        return result
