"""What ``rq cron`` runs for mailings (``crm.metrics.schedule`` registers them):
the minutely dispatch of scheduled mailings that are due, and the nightly
renewal reminders. Each goes through the associations one by one, in each
one's own scope (row-level security), as ``crm.jobs.sweep`` does; each
association's work is its own run, so one failure stops no other."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select, update

from crm.extensions import db
from crm.jobs import Unavailable, job_context, start_run
from crm.mailings.reminders import reminders_job
from crm.mailings.services import start_sending
from crm.models import Mailing, Tenant
from crm.models.base import utcnow
from crm.models.mailing import ReminderSettings
from crm.tenancy import tenant_scope


def _tenant_ids() -> list[int]:
    return list(db.session.scalars(select(Tenant.id).order_by(Tenant.id)))


def send_due_mailings() -> int:
    """Start every scheduled mailing whose time has come; how many were started.
    The status moves scheduled -> sending in one UPDATE first, so two
    dispatches (or a user's "Send now") never start one mailing twice."""
    started = 0
    with job_context():
        for tenant_id in _tenant_ids():
            with tenant_scope(tenant_id):
                due = db.session.scalars(
                    update(Mailing)
                    .where(Mailing.status == "scheduled", Mailing.scheduled_at <= utcnow())
                    .values(status="sending")
                    .returning(Mailing.id)
                    .execution_options(synchronize_session=False)
                ).all()
                db.session.commit()
                for mailing_id in due:
                    try:
                        start_sending(db.session, db.session.get(Mailing, mailing_id), None)
                    except Unavailable:  # the run says so; the mailing waits for a retry
                        current_app.logger.warning("mailing %s: queue unavailable", mailing_id)
                    started += 1
    return started


def send_all_reminders(today_iso: str | None = None, in_process: bool = False) -> list[dict]:
    """Start one reminders run per association that has reminders enabled; each
    run's tenant, id, status, result and error as it was started (in-process:
    as it ended). ``today_iso``: the day to act for (tests and operators)."""
    today_iso = today_iso or date.today().isoformat()
    runs = []
    with job_context():
        for tenant_id in _tenant_ids():
            with tenant_scope(tenant_id):
                enabled = db.session.scalar(
                    select(ReminderSettings.enabled).where(ReminderSettings.tenant_id == tenant_id)
                )
                db.session.commit()
                if not enabled:
                    continue
                run = start_run(
                    "mailing.reminders",
                    reminders_job,
                    tenant_id,
                    today_iso,
                    tenant_id=tenant_id,
                    message=f"renewal reminders of {today_iso}",
                    in_process=in_process,
                    exclusive=True,  # two at once would race for the same log keys
                )
                runs.append(
                    {
                        "tenant_id": tenant_id,
                        "run_id": run.id,
                        "status": run.status,
                        "result": run.result or {},
                        "error": run.error,
                    }
                )
                db.session.commit()
    return runs
