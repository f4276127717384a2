"""Tags the association puts on organisations and contacts (its own vocabulary)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKeyConstraint, Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base, TenantOwned, Timestamps


class Tag(TenantOwned, Timestamps, Base):
    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))


def _links(name: str, target: str, column: str) -> Table:
    """A link table ``(tenant_id, tag_id, <column>)``: both keys lead with
    tenant_id, so a tag never links a row of another association. Written with
    set-based statements (``crm.tags.services``), audited there."""
    return Table(
        name,
        Base.metadata,
        Column("tenant_id", Integer, primary_key=True),
        Column("tag_id", Integer, primary_key=True),
        Column(column, Integer, primary_key=True),
        ForeignKeyConstraint(
            ["tenant_id", "tag_id"], ["tags.tenant_id", "tags.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"], ondelete="CASCADE"
        ),
        # The row's tags (chips); the primary key serves "rows with this tag".
        Index(f"ix_{name}_tenant_{column}", "tenant_id", column),
    )


organisation_tags = _links("organisation_tags", "organisations", "organisation_id")
contact_tags = _links("contact_tags", "contacts", "contact_id")
