"""The metrics jobs: a tenant refresh and an alliance refresh.

Both are plain functions taking ids, run by an rq worker (or in-process
without Redis). Each records its progress and outcome on a ``JobRun`` and
stores one complete snapshot (``crm.metrics.snapshots.refresh``). Failures are
recorded, then re-raised so rq retries them (``Retry``) and, when retries run
out, keeps the job in its failed registry.
"""

from __future__ import annotations

from flask import current_app
from rq import Retry
from sqlalchemy import select

from crm import jobs
from crm.extensions import db
from crm.metrics import snapshots
from crm.models import JobRun, Tenant
from crm.tenancy import tenant_scope

ALLIANCE_KIND = "metrics.alliance"
TENANT_KIND = "metrics.tenant"
ACTIVE = ("queued", "running")


def refresh_alliance(run_id: int | None = None) -> dict:
    """Job: every metric alliance-wide, per country and per tenant (one snapshot each)."""
    return _run(ALLIANCE_KIND, None, run_id)


def refresh_tenant(tenant_id: int, run_id: int | None = None) -> dict:
    """Job: every metric for one tenant (its own snapshot)."""
    return _run(TENANT_KIND, tenant_id, run_id)


def _run(kind: str, tenant_id: int | None, run_id: int | None) -> dict:
    with jobs.job_context(), tenant_scope(tenant_id):  # tenant scope: RLS on job_runs
        if tenant_id is not None:
            exists = db.session.get(Tenant, tenant_id) is not None
            # End the session's transaction now: held open across the refresh, it would
            # sit "idle in transaction" with an old snapshot (blocking vacuum).
            db.session.close()
            if not exists:
                raise LookupError(f"no tenant {tenant_id}")
        if run_id is None:  # the nightly schedule starts runs without one
            run_id = create_run(kind, tenant_id)
        jobs.run_started(run_id, "computing")
        try:
            result = snapshots.refresh(
                tenant_id,
                run_id,
                progress=lambda pct, msg: jobs.run_progress(run_id, pct, msg),
            )
        except Exception as exc:
            jobs.run_failed(run_id, exc)
            raise
        jobs.run_finished(run_id, result, "snapshot stored")
        return result


def create_run(kind: str, tenant_id: int | None, user_id: int | None = None) -> int:
    """A queued JobRun, committed (the worker must be able to see it).

    Leaves no transaction open: the id is read before the commit, since reading it
    afterwards would reload the row in a new transaction that stays open (idle) for
    as long as the caller then runs the job.
    """
    with tenant_scope(tenant_id):
        run = JobRun(kind=kind, tenant_id=tenant_id, status="queued", requested_by_id=user_id)
        db.session.add(run)
        db.session.flush()
        run_id = run.id
        db.session.commit()
        return run_id


def active_run(kind: str, tenant_id: int | None) -> JobRun | None:
    """The queued or running refresh of this scope, if any (a second click joins it)."""
    query = select(JobRun).where(JobRun.kind == kind, JobRun.status.in_(ACTIVE))
    query = query.where(
        JobRun.tenant_id.is_(None) if tenant_id is None else JobRun.tenant_id == tenant_id
    )
    return db.session.scalar(query.order_by(JobRun.id.desc()).limit(1))


def start(kind: str, tenant_id: int | None, user_id: int | None = None) -> JobRun:
    """Enqueue a refresh after committing its JobRun; in-process when there is no Redis.

    Assumes the caller checked that the user may refresh this scope.
    """
    run_id = create_run(kind, tenant_id, user_id)
    args = (run_id,) if tenant_id is None else (tenant_id, run_id)
    func = refresh_alliance if tenant_id is None else refresh_tenant
    q = jobs.queue()
    if q is None:
        try:
            func(*args)
        except Exception:  # recorded on the JobRun; the page shows it
            current_app.logger.exception("metrics refresh failed")
    else:
        config = current_app.config
        retries = config.get("METRICS_RETRIES", 2)
        intervals = config.get("METRICS_RETRY_INTERVALS", [30, 120])
        job = q.enqueue(
            func,
            args=args,
            job_timeout=config.get("METRICS_JOB_TIMEOUT", 300),
            retry=Retry(max=retries, interval=intervals) if retries else None,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            description=f"{kind} {tenant_id or 'alliance'} run {run_id}",
        )
        with tenant_scope(tenant_id):
            run = db.session.get(JobRun, run_id)
            run.rq_job_id = job.id
            db.session.commit()
    with tenant_scope(tenant_id):
        return db.session.get(JobRun, run_id)
