"""CORDIS reference data (the EU's published grants and their participants, alliance-wide,
read-only to the app) and each association's decisions about what it found there."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base, TenantOwned, same_tenant_fk, utcnow


def _project_columns() -> list[Column]:
    return [
        Column("grant_key", String(40), primary_key=True),  # CORDIS ``id``, the grant number
        Column("programme_code", String(20), nullable=False),  # HE, H2020 (programmes.code)
        Column("framework_programme", String(20)),  # as CORDIS writes it: HORIZON, H2020
        Column("acronym", String(60)),
        Column("title", Text),
        Column("status", String(20)),
        Column("start_date", Date),
        Column("end_date", Date),
        Column("total_cost", Numeric(16, 2)),
        Column("ec_max_contribution", Numeric(16, 2)),
        Column("legal_basis", String(80)),
        Column("topics", Text),
        Column("master_call", String(120)),
        Column("sub_call", String(120)),
        Column("funding_scheme", String(80)),
        Column("ec_signature_date", Date),
    ]


def _participant_columns() -> list[Column]:
    return [
        Column("id", Integer, primary_key=True),
        Column("grant_key", String(40), nullable=False),
        Column("pic", String(9)),
        Column("vat_number", String(30)),  # upper case, letters and digits only
        Column("name", Text, nullable=False),
        Column("name_key", String(200)),  # crm.projects.partners.name_key, for suggestions
        Column("short_name", String(120)),
        Column("sme", Boolean),
        Column("activity_type", String(10)),  # PRC, HES, REC, PUB, OTH
        Column("street", Text),
        Column("post_code", String(30)),
        Column("city", String(120)),
        Column("country", String(2)),  # ISO 3166 (CORDIS's EL and UK read as GR and GB)
        Column("nuts_code", String(5)),
        Column("role", String(30)),
        Column("ec_contribution", Numeric(16, 2)),
        Column("net_ec_contribution", Numeric(16, 2)),
        Column("total_cost", Numeric(16, 2)),
        Column("end_of_participation", Boolean),
        Column("active", Boolean),
    ]


cordis_projects = Table("cordis_projects", Base.metadata, *_project_columns())
cordis_participants = Table(
    "cordis_participants",
    Base.metadata,
    *_participant_columns(),
    Index("ix_cordis_participants_pic", "pic"),
    Index("ix_cordis_participants_vat_number", "vat_number"),
    Index("ix_cordis_participants_grant_key", "grant_key"),
    Index("ix_cordis_participants_country_name_key", "country", "name_key"),
)
# A load fills these first, then swaps their rows into the live tables in one
# transaction: a failed or interrupted load leaves the live data as it was.
cordis_projects_staging = Table("cordis_projects_staging", Base.metadata, *_project_columns())
cordis_participants_staging = Table(
    "cordis_participants_staging", Base.metadata, *_participant_columns()
)


class CordisProject(Base):
    __table__ = cordis_projects

    grant_key: Mapped[str]
    programme_code: Mapped[str]
    acronym: Mapped[str | None]
    title: Mapped[str | None]
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    total_cost: Mapped[Decimal | None]
    ec_max_contribution: Mapped[Decimal | None]


class CordisParticipant(Base):
    __table__ = cordis_participants

    id: Mapped[int]
    grant_key: Mapped[str]
    pic: Mapped[str | None]
    vat_number: Mapped[str | None]
    name: Mapped[str]
    name_key: Mapped[str | None]
    sme: Mapped[bool | None]
    activity_type: Mapped[str | None]
    city: Mapped[str | None]
    country: Mapped[str | None]
    role: Mapped[str | None]
    ec_contribution: Mapped[Decimal | None]


class CordisLoad(Base):
    """One completed load of the reference data (the live tables hold the latest)."""

    __tablename__ = "cordis_loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(300))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    projects: Mapped[int] = mapped_column(Integer)
    participants: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    # The rejected rows (file, line, reason), the first few hundred of them.
    report: Mapped[dict | None] = mapped_column(JSON)


class CordisUpload(Base):
    """An export uploaded on the alliance page, kept until its load job has read it
    (the worker may run on another machine than the web process)."""

    __tablename__ = "cordis_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # a zip
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CordisLink(TenantOwned, Base):
    """The association's project for a CORDIS grant, created or completed from CORDIS.

    Unique per (association, grant): a second Accept, or two at once, find the
    same project instead of creating another.
    """

    __tablename__ = "cordis_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "grant_key"),
        same_tenant_fk(["project_id"], "projects", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_key: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[int] = mapped_column(Integer)
    created_project: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CordisDismissal(TenantOwned, Base):
    """A CORDIS participation the association chose not to record, and why."""

    __tablename__ = "cordis_dismissals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "grant_key", "organisation_id"),
        same_tenant_fk(["organisation_id"], "organisations", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_key: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    dismissed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
