"""Notes, calls and meetings the secretariat records about an organisation
(and, optionally, one of its contacts): the hand-written part of the timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
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
from crm.models.base import Base, TenantOwned, same_tenant_fk, utcnow

ACTIVITY_KINDS = {"note": _l("Note"), "call": _l("Call"), "meeting": _l("Meeting")}


class Activity(TenantOwned, Base):
    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        same_tenant_fk(["organisation_id"], "organisations", ondelete="CASCADE"),
        # No ON DELETE: a composite SET NULL would clear tenant_id too. Deleting a
        # contact detaches its activities first (crm.members.services.delete_contact).
        same_tenant_fk(["contact_id"], "contacts"),
        CheckConstraint("kind IN ('note', 'call', 'meeting')", name="kind_known"),
        Index(
            "ix_activities_tenant_organisation_at", "tenant_id", "organisation_id", "occurred_at"
        ),
        Index("ix_activities_tenant_contact_at", "tenant_id", "contact_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
