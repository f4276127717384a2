"""Organisations of an association: its members (clusters, firms, universities, ...)
and the external partners it records for consortia (``is_external``, never members)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    false,
    text,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from crm.i18n import _, _l
from crm.models.base import Base, TenantOwned, Timestamps, Versioned
from crm.models.reference import Ecosystem

if TYPE_CHECKING:
    from crm.models.contact import Contact
    from crm.models.membership import AssociationMembership

KINDS = {
    "cluster": _l("Cluster organisation"),
    "firm": _l("Firm"),
    "university": _l("University"),
    "research_org": _l("Research organisation"),
    "public_body": _l("Public body"),
    "investor": _l("Investor"),
    "other": _l("Other"),
}
SIZE_CLASSES = {
    "micro": _l("Micro"),
    "small": _l("Small"),
    "medium": _l("Medium"),
    "large": _l("Large"),
}
# The classification a region or activity code is of: NUTS 2021 is in force (2024 from
# 2024 on, 2016 in older records); NACE Rev. 2, and Rev. 2.1 from 2025 on.
NUTS_REVISIONS = {"2016": "NUTS 2016", "2021": "NUTS 2021", "2024": "NUTS 2024"}
NACE_REVISIONS = {"2": "NACE Rev. 2", "2.1": "NACE Rev. 2.1"}
DEFAULT_NUTS_REVISION, DEFAULT_NACE_REVISION = "2021", "2"
SME_CLASSES = ("micro", "small", "medium")

# EU SME definition (Recommendation 2003/361/EC): headcount ceiling, then turnover
# OR balance-sheet ceiling, in EUR.
_SME_CEILINGS = (
    ("micro", 10, 2_000_000, 2_000_000),
    ("small", 50, 10_000_000, 10_000_000),
    ("medium", 250, 50_000_000, 43_000_000),
)


def derive_size_class(
    employees: int | None, turnover: int | None, balance_sheet: int | None
) -> str | None:
    """The EU size class, or None when the figures do not decide it (never guessed)."""
    if employees is None:
        return None
    for name, staff, max_turnover, max_balance in _SME_CEILINGS:
        if employees >= staff:
            continue
        if (turnover is not None and turnover <= max_turnover) or (
            balance_sheet is not None and balance_sheet <= max_balance
        ):
            return name
        ruled_out = (turnover is not None and turnover > max_turnover) and (
            balance_sheet is not None and balance_sheet > max_balance
        )
        if not ruled_out:
            return None  # a missing figure could still place it in this class
    return "large"


organisation_ecosystems = Table(
    "organisation_ecosystems",
    Base.metadata,
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", Integer, primary_key=True),
    Column("ecosystem_id", Integer, ForeignKey("ecosystems.id"), primary_key=True),
    ForeignKeyConstraint(
        ["tenant_id", "organisation_id"],
        ["organisations.tenant_id", "organisations.id"],
        ondelete="CASCADE",
    ),
    Index("ix_organisation_ecosystems_tenant_ecosystem", "tenant_id", "ecosystem_id"),
)


# What people type about an organisation (forms and imports); the size class is
# derived from the figures, never typed.
PROFILE_FIELDS = (
    "kind",
    "name",
    "legal_name",
    "registration_id",
    "vat_id",
    "pic",
    "lei",
    "ror",
    "country",
    "nuts2",
    "street",
    "postcode",
    "nuts_revision",
    "city",
    "website",
    "nace",
    "nace_revision",
    "employees",
    "turnover_eur",
    "balance_sheet_eur",
    "is_startup",
    "founded_year",
    "description",
)


class Organisation(TenantOwned, Versioned, Timestamps, Base):
    __tablename__ = "organisations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        # A merged duplicate names its survivor in the same association (crm.merge).
        ForeignKeyConstraint(
            ["tenant_id", "merged_into_id"], ["organisations.tenant_id", "organisations.id"]
        ),
        CheckConstraint("merged_into_id <> id", name="not_merged_into_itself"),
        Index(
            "ix_organisations_tenant_merged_into",
            "tenant_id",
            "merged_into_id",
            postgresql_where=text("merged_into_id IS NOT NULL"),
            sqlite_where=text("merged_into_id IS NOT NULL"),
        ),
        Index("ix_organisations_tenant_kind_name", "tenant_id", "kind", "name"),
        Index("ix_organisations_tenant_name", "tenant_id", "name"),
        Index("ix_organisations_tenant_registration", "tenant_id", "registration_id"),
        Index("ix_organisations_tenant_vat", "tenant_id", "vat_id"),
        Index("ix_organisations_tenant_size", "tenant_id", "size_class"),
        Index("ix_organisations_tenant_region", "tenant_id", "nuts2"),
        # An external partner is found again by its PIC, then by its name key and country.
        Index(
            "uq_organisations_tenant_pic",
            "tenant_id",
            "pic",
            unique=True,
            postgresql_where=text("pic IS NOT NULL"),
            sqlite_where=text("pic IS NOT NULL"),
        ),
        # The member lists' anti-join (crm.members.queries.not_archived).
        Index(
            "ix_organisations_tenant_not_member",
            "tenant_id",
            "id",
            postgresql_where=text("archived = true OR is_external = true"),
            sqlite_where=text("archived = true OR is_external = true"),
        ),
        # The directory's sorts (crm.members.queries.SORTS), on the generated columns.
        Index(
            "ix_organisations_dir_sort_name",
            "tenant_id",
            "sort_name",
            "id",
            # The search's columns: its filter reads this index alone.
            postgresql_include=["is_external", "search_name", "search_city", "registration_id"],
            postgresql_where=text("archived = false"),
            sqlite_where=text("archived = false"),
        ),
        *(
            Index(
                name,
                *keys,
                postgresql_include=["is_external"],
                postgresql_where=text("archived = false"),
                sqlite_where=text("archived = false"),
            )
            for name, keys in (
                ("ix_organisations_dir_sort_city", ("tenant_id", "sort_city", "id")),
                ("ix_organisations_dir_kind_sort", ("tenant_id", "kind", "sort_name", "id")),
                ("ix_organisations_dir_region_sort", ("tenant_id", "nuts2", "sort_name", "id")),
            )
        ),
        Index(
            "ix_organisations_dir_archived_sort",
            "tenant_id",
            "sort_name",
            "id",
            postgresql_where=text("archived = true"),
            sqlite_where=text("archived = true"),
        ),
        Index(
            "ix_organisations_tenant_partner_key",
            "tenant_id",
            "country",
            "name_key",
            postgresql_where=text("name_key IS NOT NULL"),
            sqlite_where=text("name_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str | None] = mapped_column(String(250))
    registration_id: Mapped[str | None] = mapped_column(String(40))
    vat_id: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    nuts2: Mapped[str | None] = mapped_column(String(4))
    city: Mapped[str | None] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(String(250))
    nace: Mapped[str | None] = mapped_column(String(8))
    employees: Mapped[int | None] = mapped_column(Integer)
    turnover_eur: Mapped[int | None] = mapped_column(BigInteger)
    balance_sheet_eur: Mapped[int | None] = mapped_column(BigInteger)
    size_class: Mapped[str | None] = mapped_column(String(10))
    is_startup: Mapped[bool] = mapped_column(Boolean, default=False)
    founded_year: Mapped[int | None] = mapped_column(SmallInteger)
    description: Mapped[str | None] = mapped_column(Text)
    # lower(name) and lower(city) as columns, generated by the database (migration
    # 0022): the directory's sort keys. A comparison of a plain column is
    # leakproof, so under row-level security a keyset cursor is an index condition.
    sort_name: Mapped[str | None] = mapped_column(
        String(200), Computed("lower(name)"), deferred=True
    )
    sort_city: Mapped[str | None] = mapped_column(
        String(120), Computed("lower(city)"), deferred=True
    )
    # Name and city folded for the accent-free search (``crm.folding``; migration
    # 0029): "Łódź" is "lodz" here.
    search_name: Mapped[str | None] = mapped_column(Text, Computed("crm_fold(name)"), deferred=True)
    search_city: Mapped[str | None] = mapped_column(Text, Computed("crm_fold(city)"), deferred=True)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # An external partner: recorded for consortia only, never a member of the
    # association (no membership, no cluster, left out of member figures).
    is_external: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The EU Participant Identification Code (9 digits).
    pic: Mapped[str | None] = mapped_column(String(9))
    # ISO 17442 Legal Entity Identifier; Research Organization Registry id (9 characters).
    lei: Mapped[str | None] = mapped_column(String(20))
    ror: Mapped[str | None] = mapped_column(String(9))
    # Matching key of an external partner's name (``crm.projects.partners.name_key``).
    name_key: Mapped[str | None] = mapped_column(String(200))
    # The postal address, with ``city`` and ``country`` (the new-member form, imports).
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(20))
    # Set when this organisation was merged into another (it is archived then):
    # its pages redirect to that survivor (crm.merge).
    merged_into_id: Mapped[int | None] = mapped_column(Integer)
    # Which classification ``nuts2`` and ``nace`` are codes of (NUTS_REVISIONS, NACE_REVISIONS).
    nuts_revision: Mapped[str] = mapped_column(
        String(4), default=DEFAULT_NUTS_REVISION, server_default=DEFAULT_NUTS_REVISION
    )
    nace_revision: Mapped[str] = mapped_column(
        String(3), default=DEFAULT_NACE_REVISION, server_default=DEFAULT_NACE_REVISION
    )

    ecosystems: Mapped[list[Ecosystem]] = relationship(
        secondary=organisation_ecosystems,
        primaryjoin=lambda: and_(
            Organisation.tenant_id == foreign(organisation_ecosystems.c.tenant_id),
            Organisation.id == foreign(organisation_ecosystems.c.organisation_id),
        ),
        secondaryjoin=lambda: Ecosystem.id == foreign(organisation_ecosystems.c.ecosystem_id),
        order_by=Ecosystem.id,
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="organisation",
        primaryjoin="and_(Organisation.tenant_id == foreign(Contact.tenant_id), "
        "Organisation.id == foreign(Contact.organisation_id))",
        order_by="Contact.last_name",
        viewonly=True,
    )
    membership: Mapped[AssociationMembership | None] = relationship(
        primaryjoin="and_(Organisation.tenant_id == foreign(AssociationMembership.tenant_id), "
        "Organisation.id == foreign(AssociationMembership.organisation_id))",
        viewonly=True,
        uselist=False,
    )

    def refresh_size_class(self) -> None:
        if self.kind == "firm":
            self.size_class = derive_size_class(
                self.employees, self.turnover_eur, self.balance_sheet_eur
            )
        else:
            self.size_class = None

    @property
    def relation_label(self) -> str:
        return _("External partner") if self.is_external else _("Member")

    @property
    def kind_label(self) -> str:
        return str(KINDS.get(self.kind, self.kind))

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"
