"""Partner requests: an association's call for partners, seen alliance-wide,
the interests other associations express on behalf of their published
organisations, and the contact persons the two sides share once an interest
is accepted (issue 11, item 3; docs/partners.md).

Like partner profiles these are not ``TenantOwned``: each table has its own
row-level security (migration 0013) and ``crm.partner_requests.queries``
states who reads what:

* a request is readable by every association; only its own writes it;
* an interest is readable by the two associations concerned (the requester's
  and the interested one's) and by no other;
* a shared contact is readable by the association that shared it, and by the
  other side only once the interest is accepted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.i18n import _l
from crm.models.base import Base, same_tenant_fk, utcnow

# An interest's life: the requester accepts or declines a pending one; the
# interested association withdraws it (or its consent to publish, which
# withdraws every pending interest of that organisation).
INTEREST_STATUSES = {
    "pending": _l("Awaiting an answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "withdrawn": _l("Withdrawn"),
}
REQUEST_TEXT_MAX = 4000


def bars(codes) -> str:
    """Codes between bars ("|digital|health|"): one LIKE filters on both dialects."""
    return "|" + "".join(f"{c}|" for c in codes)


def unbar(value: str | None) -> list[str]:
    return [c for c in (value or "").split("|") if c]


class PartnerRequest(Base):
    __tablename__ = "partner_requests"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        same_tenant_fk(["organisation_id"], "organisations", ondelete="CASCADE"),
        # The open requests of the alliance, soonest deadline first.
        Index("ix_partner_requests_deadline", "deadline", "id"),
        Index("ix_partner_requests_tenant", "tenant_id", "created_at"),
    )
    __cross_tenant_readable__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    # The organisation the request is posted for (one of the association's),
    # with its name and country as published with the request.
    organisation_id: Mapped[int] = mapped_column(Integer)
    organisation_name: Mapped[str] = mapped_column(String(200))
    organisation_country: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(200))
    programme_code: Mapped[str] = mapped_column(ForeignKey("programmes.code"))
    call_identifier: Mapped[str | None] = mapped_column(String(80))
    topic: Mapped[str | None] = mapped_column(String(200))
    deadline: Mapped[date] = mapped_column(Date)
    roles_sought: Mapped[str | None] = mapped_column(String(300))
    kinds: Mapped[str] = mapped_column(String(200), default="|")
    size_classes: Mapped[str] = mapped_column(String(60), default="|")
    ecosystem_codes: Mapped[str] = mapped_column(String(600), default="|")
    countries: Mapped[str] = mapped_column(String(200), default="|")
    description: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def state(self, today: date) -> str:
        """open, closed, or expired (past its deadline): never stored, always as of today."""
        if self.closed_at is not None:
            return "closed"
        return "expired" if self.deadline < today else "open"

    def __repr__(self) -> str:
        return f"<PartnerRequest {self.tenant_id}/{self.id} {self.title!r}>"


class PartnerInterest(Base):
    __tablename__ = "partner_interests"
    __table_args__ = (
        ForeignKeyConstraint(
            ["request_tenant_id", "request_id"],
            ["partner_requests.tenant_id", "partner_requests.id"],
            ondelete="CASCADE",
            name="fk_partner_interests_request",  # the conventional name is too long
        ),
        same_tenant_fk(["organisation_id"], "organisations", ondelete="CASCADE"),
        # One interest per organisation and request.
        UniqueConstraint("request_id", "tenant_id", "organisation_id"),
        Index("ix_partner_interests_request_tenant", "request_tenant_id", "created_at"),
        Index("ix_partner_interests_tenant", "tenant_id", "organisation_id"),
    )
    __cross_tenant_readable__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer)
    request_tenant_id: Mapped[int] = mapped_column(Integer)
    # The interested association, and its published organisation as shown to the requester.
    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    organisation_id: Mapped[int] = mapped_column(Integer)
    organisation_name: Mapped[str] = mapped_column(String(200))
    organisation_country: Mapped[str] = mapped_column(String(2))
    organisation_kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @classmethod
    def answering(cls, request: PartnerRequest, tenant_id: int, organisation_id: int, shown,
                  **fields) -> PartnerInterest:  # fmt: skip
        """A pending interest in ``request`` for the organisation, shown to the requester
        under ``shown``'s name, country and kind (the organisation or its profile)."""
        return cls(
            request_id=request.id,
            request_tenant_id=request.tenant_id,
            tenant_id=tenant_id,
            organisation_id=organisation_id,
            organisation_name=shown.name,
            organisation_country=shown.country,
            organisation_kind=shown.kind,
            status="pending",
            **fields,
        )

    @property
    def status_label(self) -> str:
        return INTEREST_STATUSES.get(self.status, self.status)


class SharedContact(Base):
    """The contact person one side of an accepted match chose to share: a copy,
    so the other association reads it without reading the first one's contacts."""

    __tablename__ = "partner_shared_contacts"
    __table_args__ = (UniqueConstraint("interest_id", "tenant_id"),)
    __cross_tenant_readable__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    interest_id: Mapped[int] = mapped_column(ForeignKey("partner_interests.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(120))
    organisation_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
