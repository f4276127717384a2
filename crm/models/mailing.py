"""Mailings (a message written once, sent to many contacts) with each recipient's
delivery, and the renewal reminders each association sets up."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.i18n import _l
from crm.models.base import Base, TenantOwned, Timestamps, Versioned, same_tenant_fk, utcnow

MAILING_STATUSES = {
    "draft": _l("Draft"),
    "scheduled": _l("Scheduled"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "cancelled": _l("Cancelled"),
}
# What a mailing is: written by staff, or made by the nightly renewal reminders.
MAILING_KINDS = {"mailing": _l("Mailing"), "reminder": _l("Renewal reminder")}
# "sending": claimed by a sender and committed BEFORE the SMTP conversation, so a
# sender that dies mid-batch leaves rows it may have sent; they are never sent
# again (crm.mailings.sending: at most once).
RECIPIENT_STATUSES = {
    "queued": _l("Queued"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "skipped": _l("Skipped"),
}
SUBJECT_MAX = 300
BODY_MAX = 20_000


class Mailing(TenantOwned, Versioned, Timestamps, Base):
    """One message to a chosen audience. ``audience``: the directory's filter
    arguments (``crm.mailings.audience``), resolved to recipients when sending
    starts; a reminder's recipients are chosen by the reminder job instead."""

    __tablename__ = "mailings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_mailings_tenant_created", "tenant_id", "created_at"),
        # The minutely dispatch looks for scheduled mailings that are due.
        Index("ix_mailings_tenant_status_scheduled", "tenant_id", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default="mailing")
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The latest background run that sends it (its progress bar). No foreign key:
    # job_runs is not keyed by tenant (alliance runs have none), as export_files.
    run_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MailingRecipient(TenantOwned, Base):
    """One contact's copy of a mailing: its address when sending started, and what
    the server answered. Not audited row by row (thousands per mailing): the
    mailing's own events say who sent what, and this row is the delivery log."""

    __tablename__ = "mailing_recipients"
    __audit__ = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "mailing_id", "contact_id"),
        same_tenant_fk(["mailing_id"], "mailings", ondelete="CASCADE"),
        same_tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        # The sender's next batch, the progress counts and the status table.
        Index("ix_mailing_recipients_tenant_mailing_status", "tenant_id", "mailing_id", "status"),
        # The mail a contact (and its organisation) was sent: their timelines.
        Index("ix_mailing_recipients_tenant_contact", "tenant_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(254))
    # The subject as this recipient got it (merged), for their timeline.
    subject: Mapped[str | None] = mapped_column(String(SUBJECT_MAX))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReminderSettings(TenantOwned, Versioned, Timestamps, Base):
    """An association's renewal reminders: the days before and after the
    paid-until date at which one goes out, its text, and when an unpaid
    membership lapses (docs/communications.md#reminders). One row per association."""

    __tablename__ = "reminder_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "id"), UniqueConstraint("tenant_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Offsets from paid_until in days: negative before, positive after (-30, -7, 14).
    steps: Mapped[list] = mapped_column(JSON, default=list)
    # Days after paid_until when a membership that was sent its last reminder
    # lapses; None: never automatically.
    lapse_after_days: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)


class ReminderLog(TenantOwned, Base):
    """A reminder step done for a membership's paid-until date: the unique key is
    what makes re-runs and overlapping days never send it twice."""

    __tablename__ = "reminder_log"
    __audit__ = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "membership_id", "step", "paid_until"),
        same_tenant_fk(["membership_id"], "association_memberships", ondelete="CASCADE"),
        same_tenant_fk(["mailing_id"], "mailings"),  # mailings are never deleted
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    paid_until: Mapped[date] = mapped_column(Date)
    mailing_id: Mapped[int | None] = mapped_column(Integer)
    done_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
