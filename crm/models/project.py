"""Funded-project records: projects, their status history, and participations."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from crm.i18n import _l
from crm.models.base import Base, TenantOwned, Timestamps, Versioned, same_tenant_fk, utcnow
from crm.models.organisation import Organisation
from crm.models.reference import Ecosystem, FlagshipArea

PROJECT_STATUSES = {
    "proposal": _l("Proposal (in preparation)"),
    "submitted": _l("Submitted"),
    "funded": _l("Funded"),
    "rejected": _l("Rejected"),
    "running": _l("Running"),
    "closed": _l("Closed"),
}
FUNDED_STATUSES = ("funded", "running", "closed")
# An organisation's role in a project's consortium (not a user's role: crm.models.user).
PARTICIPATION_ROLES = {
    "coordinator": _l("Coordinator"),
    "partner": _l("Partner (beneficiary)"),
    "associated_partner": _l("Associated partner"),
    "third_party": _l("Third party"),
    "subcontractor": _l("Subcontractor"),
}
# What people type about a project (forms and imports), besides its grant agreement
# number, which is set with its normalised key (``Project.set_grant_number``).
PROJECT_FIELDS = (
    "programme_code",
    "call_id",
    "acronym",
    "title",
    "status",
    "start_date",
    "end_date",
    "total_budget",
    "eu_contribution",
    "description",
)

# Longest prefix first: with "GA" before "GAP", "GAP-103660601" lost only "GA"
# and keyed as "P103660601" (a regex alternation takes the first that matches).
GRANT_PREFIXES = ("GRANT", "GAP", "GA", "NO", "NR", "N°")
_GRANT_PREFIX = re.compile(
    rf"^({'|'.join(sorted(GRANT_PREFIXES, key=len, reverse=True))})[\s.:#-]*", re.IGNORECASE
)


def normalise_grant_number(raw: str | None) -> str | None:
    """The matching key of a grant agreement number: 'GA no. 101-070 123' -> '101070123'."""
    if not raw:
        return None
    key = _GRANT_PREFIX.sub("", raw.strip())
    key = _GRANT_PREFIX.sub("", key)  # "GA No. 123": two prefixes
    key = re.sub(r"[^0-9A-Za-z]", "", key).upper()
    return key or None


def _secondary(name: str, target: str, column: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column(
            "tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
        ),
        Column("project_id", Integer, primary_key=True),
        Column(column, Integer, ForeignKey(f"{target}.id"), primary_key=True),
        ForeignKeyConstraint(
            ["tenant_id", "project_id"], ["projects.tenant_id", "projects.id"], ondelete="CASCADE"
        ),
        Index(f"ix_{name}_tenant_{column}", "tenant_id", column),
    )


project_ecosystems = _secondary("project_ecosystems", "ecosystems", "ecosystem_id")
project_flagships = _secondary("project_flagships", "flagship_areas", "flagship_id")


class Project(TenantOwned, Versioned, Timestamps, Base):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        same_tenant_fk(["cluster_id"], "organisations"),
        Index("ix_projects_tenant_status", "tenant_id", "status"),
        Index("ix_projects_tenant_programme", "tenant_id", "programme_code"),
        Index("ix_projects_tenant_cluster", "tenant_id", "cluster_id"),
        Index("ix_projects_grant_key", "programme_code", "grant_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_code: Mapped[str] = mapped_column(ForeignKey("programmes.code"))
    call_id: Mapped[str | None] = mapped_column(String(80))
    grant_number: Mapped[str | None] = mapped_column(String(40))
    grant_key: Mapped[str | None] = mapped_column(String(40))
    acronym: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    total_budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    eu_contribution: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    description: Mapped[str | None] = mapped_column(Text)
    # The cluster that recorded the project; its cluster managers may edit it.
    cluster_id: Mapped[int | None] = mapped_column(Integer)

    ecosystems: Mapped[list[Ecosystem]] = relationship(
        secondary=project_ecosystems,
        primaryjoin=lambda: and_(
            Project.tenant_id == foreign(project_ecosystems.c.tenant_id),
            Project.id == foreign(project_ecosystems.c.project_id),
        ),
        secondaryjoin=lambda: Ecosystem.id == foreign(project_ecosystems.c.ecosystem_id),
        order_by=Ecosystem.id,
    )
    flagships: Mapped[list[FlagshipArea]] = relationship(
        secondary=project_flagships,
        primaryjoin=lambda: and_(
            Project.tenant_id == foreign(project_flagships.c.tenant_id),
            Project.id == foreign(project_flagships.c.project_id),
        ),
        secondaryjoin=lambda: FlagshipArea.id == foreign(project_flagships.c.flagship_id),
        order_by=FlagshipArea.id,
    )
    cluster: Mapped[Organisation | None] = relationship(
        primaryjoin=lambda: and_(
            foreign(Project.tenant_id) == Organisation.tenant_id,
            foreign(Project.cluster_id) == Organisation.id,
        ),
        viewonly=True,
    )

    def set_grant_number(self, raw: str | None) -> None:
        self.grant_number = raw.strip() if raw else None
        self.grant_key = normalise_grant_number(raw)


class ProjectStatusChange(TenantOwned, Base):
    __tablename__ = "project_status_changes"
    __table_args__ = (
        same_tenant_fk(["project_id"], "projects", ondelete="CASCADE"),
        Index("ix_project_status_changes_tenant_project", "tenant_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    changed_on: Mapped[date] = mapped_column(Date)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Participation(TenantOwned, Versioned, Base):
    __tablename__ = "participations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "project_id", "organisation_id"),
        same_tenant_fk(["project_id"], "projects", ondelete="CASCADE"),
        same_tenant_fk(["organisation_id"], "organisations", ondelete="CASCADE"),
        Index("ix_participations_tenant_organisation", "tenant_id", "organisation_id"),
        # One coordinator per project record: two users adding one at once
        # cannot both succeed (crm.projects.rules checks it first, in words).
        Index(
            "uq_participations_one_coordinator",
            "tenant_id",
            "project_id",
            unique=True,
            postgresql_where=text("role = 'coordinator'"),
            sqlite_where=text("role = 'coordinator'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer)
    organisation_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    budget_share: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship(
        primaryjoin=lambda: and_(
            foreign(Participation.tenant_id) == Organisation.tenant_id,
            foreign(Participation.organisation_id) == Organisation.id,
        ),
        viewonly=True,
    )
    project: Mapped[Project] = relationship(
        primaryjoin=lambda: and_(
            foreign(Participation.tenant_id) == Project.tenant_id,
            foreign(Participation.project_id) == Project.id,
        ),
        viewonly=True,
    )
