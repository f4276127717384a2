"""Saved segments: a list's filters under a name, shared within the association."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.i18n import _l
from crm.models.base import Base, TenantOwned, Timestamps

# Which list a segment was saved from: its filters are that list's query arguments.
SEGMENT_SOURCES = {"members": _l("Members directory"), "contacts": _l("Contacts")}


class Segment(TenantOwned, Timestamps, Base):
    """``filters`` holds the list's query arguments as they were saved (a dict of
    strings), not a compiled query: a segment stays valid as the filters evolve,
    and keys the list no longer knows are ignored with a notice when it opens."""

    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(20), default="members")
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
