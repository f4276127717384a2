"""Renewal reminders: each association's steps, sent through the mailing machinery.

A step is a number of days from a membership's paid-until date: negative
before it (-30, -7), positive after it (14). On a day ``today``, an active
membership is AT step s when ``paid_until + s <= today`` and no later step is
due yet; a step whose day was missed (the nightly run did not run) is still
sent for ``CATCH_UP_DAYS`` days, then given up. Each step is logged per
(membership, step, paid_until) under a unique key, so re-runs, overlapping days
and two runs at once never send it twice; a renewal moves paid_until and starts
a new cycle.

Per day and step, one reminder mailing (kind "reminder", purpose
"membership") goes to the organisation's primary contact if the primary may
receive membership mail, else to every contact of the organisation who may.

Lapsing: an active membership whose last step was done for its current
paid-until date, and which is still unpaid ``lapse_after_days`` after that
date, moves to lapsed through the membership lifecycle service (so it is in
the status history and the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, exists, false, func, insert, literal, or_, select
from sqlalchemy.orm import aliased

from crm.conflicts import check_version
from crm.extensions import db
from crm.i18n import _, _l
from crm.jobs import job_context, run_progress, run_started
from crm.mail.consent import may_receive
from crm.mailings import merge
from crm.mailings.services import MailingError, start_sending
from crm.members import services as members
from crm.models import AssociationMembership, Contact, Organisation, Tenant
from crm.models.mailing import Mailing, MailingRecipient, ReminderLog, ReminderSettings
from crm.tenancy import tenant_scope

CATCH_UP_DAYS = 7
MAX_STEP_DAYS = 365
DEFAULT_STEPS = [-30, -7, 14]
# Offered in the admin's language: the merge fields ({{ ... }}) stay as they are.
DEFAULT_SUBJECT = _l("{{ association }}: membership of {{ organisation }} due for renewal")
DEFAULT_BODY = _l(
    "Dear {{ contact.first_name }},\n\n"
    "The membership of {{ organisation }} in {{ association }} is paid until "
    "{{ renewal_date }}.\nPlease renew it so that your organisation stays a member.\n\n"
    "Kind regards,\n{{ association }}\n"
)
LAPSE_REASON = "Renewal reminders exhausted: not renewed {days} days after the paid-until date"


def step_label(step: int) -> str:
    if step < 0:
        return f"{-step} days before"
    if step == 0:
        return "on the paid-until date"
    return f"{step} days after"


def settings_of(session, tenant_id: int) -> ReminderSettings | None:
    return session.scalar(select(ReminderSettings).where(ReminderSettings.tenant_id == tenant_id))


def default_settings(tenant_id: int) -> ReminderSettings:
    """What the settings page offers before an association saved its own."""
    return ReminderSettings(
        tenant_id=tenant_id,
        enabled=False,
        steps=list(DEFAULT_STEPS),
        lapse_after_days=30,
        subject=str(DEFAULT_SUBJECT),
        body=str(DEFAULT_BODY),
    )


def save_settings(
    session,
    tenant: Tenant,
    *,
    enabled: bool,
    steps: list[int],
    lapse_after_days: int | None,
    subject: str,
    body: str,
    version: int | None = None,
) -> ReminderSettings:
    """Create or change the association's reminder settings (its admin decides);
    ``version``: the settings' when the form was opened."""
    steps = sorted(set(steps))
    if enabled and not steps:
        raise MailingError(_("Enter at least one day before or after."), "days_before")
    if lapse_after_days is not None and steps and lapse_after_days <= max(steps):
        raise MailingError(
            _("Lapse after the last reminder: more days than the last day after."),
            "lapse_after_days",
        )
    for name, template in (("subject", subject), ("body", body)):
        problem = merge.check(template, tenant.name)
        if problem:
            raise MailingError(problem, name)
    settings = settings_of(session, tenant.id)
    check_version(settings, version)
    if settings is None:
        settings = ReminderSettings(tenant_id=tenant.id)
        session.add(settings)
    settings.enabled = enabled
    settings.steps = steps
    settings.lapse_after_days = lapse_after_days
    settings.subject = " ".join(subject.split())
    settings.body = body
    session.flush()
    return settings


@dataclass
class Window:
    """The paid-until dates at one step today: ``low < paid_until <= high``."""

    step: int
    low: date
    high: date


def windows(steps: list[int], today: date) -> list[Window]:
    """For each step, the paid-until dates it is due for today; a date is in at
    most one window (the latest step due), so a missed step is skipped once a
    later one is due."""
    ordered = sorted(set(steps))
    out = []
    for i, step in enumerate(ordered):
        high = today - timedelta(days=step)
        low = high - timedelta(days=CATCH_UP_DAYS)
        if i + 1 < len(ordered):
            low = max(low, today - timedelta(days=ordered[i + 1]))
        out.append(Window(step, low, high))
    return out


def _due(tenant_id: int, window: Window):
    """Active memberships of current organisations at ``window``, not yet logged."""
    m = AssociationMembership
    log = aliased(ReminderLog)
    return (
        select(m.id, m.paid_until)
        .join(
            Organisation,
            and_(Organisation.tenant_id == m.tenant_id, Organisation.id == m.organisation_id),
        )
        .where(
            m.tenant_id == tenant_id,
            m.status == "active",
            m.paid_until > window.low,
            m.paid_until <= window.high,
            Organisation.archived == false(),
            Organisation.is_external == false(),
            ~exists().where(
                log.tenant_id == m.tenant_id,
                log.membership_id == m.id,
                log.step == window.step,
                log.paid_until == m.paid_until,
            ),
        )
    )


@dataclass
class Outcome:
    mailing_ids: list[int] = field(default_factory=list)
    by_step: dict[int, int] = field(default_factory=dict)  # memberships reminded
    recipients: int = 0
    lapsed: int = 0

    def as_dict(self) -> dict:
        return {
            "mailings": self.mailing_ids,
            "memberships": {str(k): v for k, v in self.by_step.items()},
            "recipients": self.recipients,
            "lapsed": self.lapsed,
        }


def prepare(session, tenant: Tenant, today: date) -> Outcome:
    """Log today's steps and make their reminder mailings (status "sending", with
    their recipients), then lapse what is exhausted. Flushes; the caller
    commits, then starts the mailings' sending (``start_sending``)."""
    outcome = Outcome()
    settings = settings_of(session, tenant.id)
    if settings is None or not settings.enabled or not settings.steps:
        return outcome
    for window in windows(settings.steps, today):
        due = _due(tenant.id, window)
        count = session.scalar(select(func.count()).select_from(due.subquery()))
        if not count:
            continue
        mailing = Mailing(
            tenant_id=tenant.id,
            kind="reminder",
            name=f"Renewal reminder, {step_label(window.step)} ({today.isoformat()})",
            purpose="membership",
            subject=settings.subject,
            body=settings.body,
            audience={"kind": "reminder", "step": window.step, "on": today.isoformat()},
            status="sending",
        )
        session.add(mailing)
        session.flush()
        logged = due.subquery("due")
        session.execute(
            insert(ReminderLog.__table__).from_select(
                ["membership_id", "paid_until", "tenant_id", "step", "mailing_id", "done_on"],
                select(
                    logged.c.id,
                    logged.c.paid_until,
                    literal(tenant.id),
                    literal(window.step),
                    literal(mailing.id),
                    literal(today),
                ),
            )
        )
        outcome.mailing_ids.append(mailing.id)
        outcome.by_step[window.step] = count
        outcome.recipients += _add_recipients(session, tenant.id, mailing.id)
    outcome.lapsed = lapse(session, tenant.id, settings, today)
    session.flush()
    return outcome


def _add_recipients(session, tenant_id: int, mailing_id: int) -> int:
    """The reminded memberships' contacts: the primary one if it may receive
    membership mail, else all who may (one INSERT ... SELECT)."""
    m = AssociationMembership
    primary = aliased(Contact)
    reminded = (
        select(m.organisation_id)
        .join(
            ReminderLog,
            and_(ReminderLog.tenant_id == m.tenant_id, ReminderLog.membership_id == m.id),
        )
        .where(ReminderLog.tenant_id == tenant_id, ReminderLog.mailing_id == mailing_id)
    )
    receiving_primary = (
        select(primary.id)
        .where(
            primary.tenant_id == Contact.tenant_id,
            primary.organisation_id == Contact.organisation_id,
            primary.is_primary.is_(True),
            may_receive("membership", primary),
        )
        .exists()
    )
    chosen = select(
        Contact.id,
        Contact.email,
        literal(tenant_id),
        literal(mailing_id),
        literal("queued"),
        literal(0),
    ).where(
        Contact.tenant_id == tenant_id,
        Contact.organisation_id.in_(reminded),
        may_receive("membership"),
        or_(Contact.is_primary.is_(True), ~receiving_primary),
    )
    return session.execute(
        insert(MailingRecipient.__table__).from_select(
            ["contact_id", "email", "tenant_id", "mailing_id", "status", "attempts"], chosen
        )
    ).rowcount


def lapse(session, tenant_id: int, settings: ReminderSettings, today: date) -> int:
    """Move to lapsed the active memberships whose reminders are exhausted (the
    rule in the module docstring), through the lifecycle service."""
    if settings.lapse_after_days is None or not settings.steps:
        return 0
    last_step = max(settings.steps)
    m = AssociationMembership
    orgs = session.scalars(
        select(Organisation)
        .join(m, and_(m.tenant_id == Organisation.tenant_id, m.organisation_id == Organisation.id))
        .where(
            m.tenant_id == tenant_id,
            m.status == "active",
            m.paid_until <= today - timedelta(days=settings.lapse_after_days),
            Organisation.archived == false(),
            Organisation.is_external == false(),
            exists().where(
                ReminderLog.tenant_id == m.tenant_id,
                ReminderLog.membership_id == m.id,
                ReminderLog.step == last_step,
                ReminderLog.paid_until == m.paid_until,
            ),
        )
        .order_by(Organisation.id)
    ).all()
    reason = LAPSE_REASON.format(days=settings.lapse_after_days)
    for org in orgs:
        members.change_membership_status(
            session, tenant_id, org, "lapsed", effective_on=today, reason=reason, user_id=None
        )
    return len(orgs)


def reminders_job(tenant_id: int, today_iso: str, run_id: int) -> dict:
    """The job (kind "mailing.reminders"): one association's reminders for a day."""
    today = date.fromisoformat(today_iso)
    with job_context(), tenant_scope(tenant_id):
        run_started(run_id, _("renewal reminders of %(day)s", day=today_iso))
        tenant = db.session.get(Tenant, tenant_id)
        outcome = prepare(db.session, tenant, today)
        db.session.commit()
        run_progress(run_id, 50, _("%(count)s reminders to send", count=outcome.recipients))
        for mailing_id in outcome.mailing_ids:
            start_sending(db.session, db.session.get(Mailing, mailing_id), None)
        return outcome.as_dict()
