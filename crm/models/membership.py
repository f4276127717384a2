"""Membership of the association (with its status history) and of clusters."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from crm.i18n import _l
from crm.models.base import Base, TenantOwned, Timestamps, Versioned, same_tenant_fk, utcnow
from crm.models.organisation import Organisation

MEMBERSHIP_STATUSES = {
    "applicant": _l("Applicant"),
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "lapsed": _l("Lapsed"),
    "left": _l("Left"),
}
FEE_TIERS = {
    "standard": _l("Standard"),
    "reduced": _l("Reduced"),
    "supporting": _l("Supporting"),
    "exempt": _l("Exempt"),
}
# How a payment was made. "Waived" records a period granted without payment
# (its amount may be zero); every other method needs an amount above zero.
PAYMENT_METHODS = {
    "transfer": _l("Bank transfer"),
    "card": _l("Card"),
    "direct_debit": _l("Direct debit"),
    "in_kind": _l("In kind"),
    "waived": _l("Waived"),
}
DEFAULT_PERIOD_MONTHS = 12


class AssociationMembership(TenantOwned, Versioned, Timestamps, Base):
    """An organisation's membership of its national association (one per organisation)."""

    __tablename__ = "association_memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "organisation_id"),
        same_tenant_fk(["organisation_id"], "organisations", ondelete="CASCADE"),
        Index("ix_association_memberships_tenant_status", "tenant_id", "status"),
        Index("ix_association_memberships_tenant_paid_until", "tenant_id", "paid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    joined_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    fee_tier: Mapped[str | None] = mapped_column(String(12))
    paid_until: Mapped[date | None] = mapped_column(Date)
    # What one period of membership costs and how long it runs: a payment moves
    # paid_until by the period; an overdue membership owes its fee (the dashboard).
    fee_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    fee_currency: Mapped[str] = mapped_column(String(3), default="EUR", server_default="EUR")
    period_months: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_PERIOD_MONTHS, server_default=str(DEFAULT_PERIOD_MONTHS)
    )

    organisation: Mapped[Organisation] = relationship(
        primaryjoin="and_(foreign(AssociationMembership.tenant_id) == Organisation.tenant_id, "
        "foreign(AssociationMembership.organisation_id) == Organisation.id)",
        viewonly=True,
    )
    history: Mapped[list[MembershipStatusChange]] = relationship(
        primaryjoin="and_("
        "AssociationMembership.tenant_id == foreign(MembershipStatusChange.tenant_id), "
        "AssociationMembership.id == foreign(MembershipStatusChange.membership_id))",
        order_by="(MembershipStatusChange.effective_on.desc(), MembershipStatusChange.id.desc())",
        viewonly=True,
    )


class Payment(TenantOwned, Base):
    """A payment of a membership, and the period it pays for."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        same_tenant_fk(["membership_id"], "association_memberships", ondelete="CASCADE"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("period_to >= period_from", name="period_in_order"),
        Index("ix_payments_tenant_membership_paid", "tenant_id", "membership_id", "paid_on"),
        Index("ix_payments_tenant_paid", "tenant_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(100))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MembershipStatusChange(TenantOwned, Base):
    __tablename__ = "membership_status_changes"
    __table_args__ = (
        same_tenant_fk(["membership_id"], "association_memberships", ondelete="CASCADE"),
        Index("ix_membership_status_changes_tenant_membership", "tenant_id", "membership_id"),
        Index("ix_membership_status_changes_tenant_effective", "tenant_id", "effective_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClusterMembership(TenantOwned, Base):
    """An organisation's membership of a cluster of the same tenant."""

    __tablename__ = "cluster_memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "cluster_id", "member_id"),
        same_tenant_fk(["cluster_id"], "organisations", ondelete="CASCADE"),
        same_tenant_fk(["member_id"], "organisations", ondelete="CASCADE"),
        CheckConstraint("cluster_id <> member_id", name="not_own_member"),
        Index("ix_cluster_memberships_tenant_member", "tenant_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(Integer)
    since: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)

    cluster: Mapped[Organisation] = relationship(
        primaryjoin=lambda: (
            (foreign(ClusterMembership.tenant_id) == Organisation.tenant_id)
            & (foreign(ClusterMembership.cluster_id) == Organisation.id)
        ),
        viewonly=True,
    )
    member: Mapped[Organisation] = relationship(
        primaryjoin=lambda: (
            (foreign(ClusterMembership.tenant_id) == Organisation.tenant_id)
            & (foreign(ClusterMembership.member_id) == Organisation.id)
        ),
        viewonly=True,
    )
