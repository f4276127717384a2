"""E-mail: the outbox that stands in for SMTP in the embedded default, and each
contact's consent per purpose of e-mail."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.i18n import _l
from crm.models.base import Base, TenantOwned, same_tenant_fk, utcnow

# Why a contact may be written to. Membership communications (renewals, the
# association's business with its member) go out unless the contact refused
# them; newsletters and events need a consent given (docs/communications.md).
PURPOSES = {
    "membership": _l("Membership communications"),
    "newsletters": _l("Newsletters and events"),
}
OPT_OUT_PURPOSES = ("membership",)
CONSENT_SOURCES = {
    "form": "Entered by staff",
    "import": "Import",
    "unsubscribe": "Unsubscribe link",
    "contact": "Asked by the contact",
}


class OutboxMessage(TenantOwned, Base):
    """A message that would have gone to SMTP: without ``SMTP_URL`` every message
    lands here, so the demo and a machine without a mail server still work; the
    association admin reads them. Not audited row by row: the sending records it."""

    __tablename__ = "outbox_messages"
    __audit__ = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_outbox_messages_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # Every header as sent (List-Unsubscribe, Message-ID, ...), for the reader.
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmailConsent(TenantOwned, Base):
    """What one contact said about one purpose of e-mail, when and how we learnt it.
    No row means nothing was said: see ``PURPOSES`` for what that allows."""

    __tablename__ = "email_consents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "contact_id", "purpose"),
        same_tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(String(20))
