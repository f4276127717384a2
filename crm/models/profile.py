"""Partner profiles: the published copy of an organisation that the other
associations of the alliance may search (issue 11, alliance partner search).

The one model that is readable across tenants. It is deliberately not
``TenantOwned``: ``crm.tenancy`` does not add ``tenant_id = :current`` to its
reads, and PostgreSQL row-level security lets any association read every row
but write only its own (migration 0012). Writes go through
``crm.profiles.services``, which takes the tenant from the scope.

It holds only what the association consents to publish: no contacts, figures
(turnover, headcount), membership, fees, notes or internal fields.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
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

from crm.models.base import Base, utcnow


class PartnerProfile(Base):
    __tablename__ = "partner_profiles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "organisation_id"),
        ForeignKeyConstraint(
            ["tenant_id", "organisation_id"],
            ["organisations.tenant_id", "organisations.id"],
            ondelete="CASCADE",
        ),
        # The order of a page without a text query (name, then id).
        Index("ix_partner_profiles_name", "name", "id"),
        # Trigram index for the accent-free, typo-tolerant search (PostgreSQL).
        Index(
            "ix_partner_profiles_search",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )
    # Which association publishes it: never read from the scope on SELECT.
    __cross_tenant_readable__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    organisation_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    nuts2: Mapped[str | None] = mapped_column(String(4))
    region_name: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    size_class: Mapped[str | None] = mapped_column(String(10))
    nace: Mapped[str | None] = mapped_column(String(8))
    nace_section: Mapped[str | None] = mapped_column(String(1))
    website: Mapped[str | None] = mapped_column(String(250))
    capabilities: Mapped[str | None] = mapped_column(String(600))
    keywords: Mapped[str | None] = mapped_column(String(300))
    # Codes between bars ("|digital|health|"), so one LIKE filters on both dialects.
    ecosystem_codes: Mapped[str] = mapped_column(String(600), default="|")
    programme_codes: Mapped[str] = mapped_column(String(300), default="|")
    # Programme code -> number of funded projects the organisation took part in.
    programmes: Mapped[dict] = mapped_column(JSON, default=dict)
    # Name, city, capabilities and keywords folded by ``crm.folding.fold``.
    search_text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def ecosystems(self) -> list[str]:
        return [c for c in self.ecosystem_codes.split("|") if c]

    def __repr__(self) -> str:
        return f"<PartnerProfile {self.tenant_id}/{self.organisation_id} {self.name!r}>"
