"""External partners: organisations recorded for consortia, never members.

``organisations.is_external`` marks an organisation the association records
only because it takes part in its projects (a foreign university, a firm of
another country): it has no membership and no cluster, and the member lists
and figures leave it out. ``pic`` is the EU Participant Identification Code
(9 digits), unique per association when given; ``name_key`` is the matching
key of an external partner's name (case, accents, punctuation and legal-form
suffixes dropped), so a partner typed again is found and reused instead of
being recorded twice. Both lookups have a partial index.

The directory's default view (members only) and the dashboard now filter on
``is_external``: on PostgreSQL the sort indexes of 0004 get it as one more
INCLUDEd column, so their pages and counts stay index-only scans (same keys,
same partial condition; SQLite has no INCLUDE and nothing changes there).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The sort indexes of 0004: name -> (keys, INCLUDEd columns before this revision).
SORT_INDEXES = {
    "ix_organisations_dir_name": (
        "tenant_id, lower(name), id, lower(city), lower(registration_id)",
        "name, city, registration_id",
    ),
    "ix_organisations_dir_city": ("tenant_id, lower(city), id", "city"),
    "ix_organisations_dir_kind_name": ("tenant_id, kind, lower(name), id", "name, size_class"),
    "ix_organisations_dir_region_name": ("tenant_id, nuts2, lower(name), id", "name"),
}


def _sort_indexes(with_external: bool) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for name, (keys, included) in SORT_INDEXES.items():
        if with_external:
            included += ", is_external"
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(
            f"CREATE INDEX {name} ON organisations ({keys}) INCLUDE ({included}) "
            "WHERE archived = false"
        )


NOT_MEMBER = "archived = true OR is_external = true"


# Plain ALTERs, not batch mode: batch mode reflects the table, and SQLite
# cannot reflect the expression indexes of 0004 (nor does this need a copy).
def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column("is_external", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("organisations", sa.Column("pic", sa.String(length=9), nullable=True))
    op.add_column("organisations", sa.Column("name_key", sa.String(length=200), nullable=True))
    op.create_index(
        "uq_organisations_tenant_pic",
        "organisations",
        ["tenant_id", "pic"],
        unique=True,
        postgresql_where=sa.text("pic IS NOT NULL"),
        sqlite_where=sa.text("pic IS NOT NULL"),
    )
    op.create_index(
        "ix_organisations_tenant_partner_key",
        "organisations",
        ["tenant_id", "country", "name_key"],
        unique=False,
        postgresql_where=sa.text("name_key IS NOT NULL"),
        sqlite_where=sa.text("name_key IS NOT NULL"),
    )
    # The member lists' anti-join ("not archived, not an external partner") probes
    # only the few rows that are either: a partial index of exactly those.
    op.create_index(
        "ix_organisations_tenant_not_member",
        "organisations",
        ["tenant_id", "id"],
        unique=False,
        postgresql_where=sa.text(NOT_MEMBER),
        sqlite_where=sa.text(NOT_MEMBER),
    )
    _sort_indexes(with_external=True)


def downgrade() -> None:
    _sort_indexes(with_external=False)
    op.drop_index("ix_organisations_tenant_not_member", table_name="organisations")
    op.drop_index("ix_organisations_tenant_partner_key", table_name="organisations")
    op.drop_index("uq_organisations_tenant_pic", table_name="organisations")
    for column in ("name_key", "pic", "is_external"):
        op.drop_column("organisations", column)
