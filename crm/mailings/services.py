"""Verbs on mailings. They flush, never commit; the caller checked that the user
is the association's staff. Starting the sending job is the view's, after its
commit (``start_sending``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from crm import audit
from crm.conflicts import check_version
from crm.i18n import _
from crm.jobs import start_run
from crm.mail import transport
from crm.mailings import merge
from crm.mailings.sending import compose, send_job
from crm.models import Tenant, User
from crm.models.base import utcnow
from crm.models.mail import PURPOSES
from crm.models.mailing import MAILING_STATUSES, Mailing, MailingRecipient
from crm.validation import RuleError

EDITABLE = ("draft", "scheduled")


class MailingError(RuleError):
    pass


def status_name(status: str) -> str:
    """A mailing's status inside a sentence: "This mailing is sent"."""
    return str(MAILING_STATUSES.get(status, status)).lower()


@dataclass
class MailingFields:
    name: str
    purpose: str
    subject: str
    body: str


def _apply(mailing: Mailing, fields: MailingFields, association: str) -> None:
    if fields.purpose not in PURPOSES:
        raise MailingError(_("Choose what the mailing is for."), "purpose")
    for name in ("subject", "body"):
        problem = merge.check(getattr(fields, name), association)
        if problem:
            raise MailingError(problem, name)
    mailing.name = fields.name.strip()
    mailing.purpose = fields.purpose
    mailing.subject = fields.subject.strip()
    mailing.body = fields.body


def create_mailing(
    session, tenant: Tenant, fields: MailingFields, audience: dict, user_id: int | None
) -> Mailing:
    mailing = Mailing(
        tenant_id=tenant.id,
        kind="mailing",
        status="draft",
        audience=audience,
        created_by_id=user_id,
    )
    _apply(mailing, fields, tenant.name)
    session.add(mailing)
    session.flush()
    return mailing


def update_mailing(
    session, tenant: Tenant, mailing: Mailing, fields: MailingFields, *, version=None
) -> None:
    """``version``: the mailing's when the form was opened (a stale form is refused)."""
    check_version(mailing, version)
    _editable(mailing)
    _apply(mailing, fields, tenant.name)
    session.flush()


def _editable(mailing: Mailing) -> None:
    if mailing.status not in EDITABLE:
        raise MailingError(
            _(
                "This mailing is %(status)s: it can no longer be changed.",
                status=status_name(mailing.status),
            )
        )


def send_now(session, mailing: Mailing) -> None:
    """Mark it for sending; the caller commits, then ``start_sending``."""
    _editable(mailing)
    mailing.status = "sending"
    mailing.scheduled_at = None
    session.flush()


def schedule(session, mailing: Mailing, when: datetime) -> None:
    _editable(mailing)
    if when <= utcnow():
        raise MailingError(_("Choose a time in the future."), "when")
    mailing.status = "scheduled"
    mailing.scheduled_at = when
    session.flush()


def cancel(session, mailing: Mailing) -> int:
    """Stop it: a draft or scheduled one never goes; a sending one stops after
    the batch in hand, its unsent recipients skipped. The number skipped."""
    if mailing.status not in (*EDITABLE, "sending"):
        raise MailingError(
            _(
                "This mailing is %(status)s: there is nothing to cancel.",
                status=status_name(mailing.status),
            )
        )
    mailing.status = "cancelled"
    mailing.finished_at = utcnow()
    session.flush()
    return session.execute(
        update(MailingRecipient)
        .where(MailingRecipient.mailing_id == mailing.id, MailingRecipient.status == "queued")
        .values(status="skipped", last_error="mailing cancelled")
        .execution_options(synchronize_session=False)
    ).rowcount


def start_sending(session, mailing: Mailing, user_id: int | None):
    """Start the sending run of a mailing marked "sending" (after the commit that
    marked it): its id is on the mailing, for the progress bar."""

    def remember(run) -> None:
        mailing.run_id = run.id

    return start_run(
        "mailing.send",
        send_job,
        mailing.id,
        mailing.tenant_id,
        tenant_id=mailing.tenant_id,
        user_id=user_id,
        message="waiting for a worker",
        on_created=remember,
    )


def send_test(session, tenant: Tenant, mailing: Mailing, user: User) -> str:
    """The mailing as a sample recipient would get it, to the user's own address
    (subject marked [TEST]); audited. The address it went to."""
    row = _SampleRow(user.email)
    message = compose(mailing, tenant, row)
    message.replace_header("Subject", f"[TEST] {message['Subject']}")
    transport.send(session, tenant.id, message)
    audit.record(
        session,
        "mailing_test",
        tenant_id=tenant.id,
        entity_type="mailings",
        entity_id=mailing.id,
        summary=f"test message of {mailing.name!r} sent to {user.email}",
    )
    session.flush()
    return user.email


@dataclass
class _SampleRow:
    """The sample recipient's facts, shaped like a sending batch's row."""

    email: str
    contact_id: int = 0
    first_name: str = merge.SAMPLE.first_name
    last_name: str = merge.SAMPLE.last_name
    organisation: str = merge.SAMPLE.organisation
    paid_until: object = merge.SAMPLE.paid_until


def preview(mailing: Mailing, tenant: Tenant, row=None) -> dict:
    """Subject and body as a recipient (``row``, else the sample) would read them."""
    message = compose(mailing, tenant, row or _SampleRow(merge.SAMPLE.email))
    return {
        "subject": message["Subject"],
        "body": message.get_content(),
        "headers": {k: v for k, v in message.items() if k.startswith("List-")},
    }
