"""Directory search and sort indexes (pg_trgm on PostgreSQL).

PostgreSQL: the ``pg_trgm`` extension and GIN trigram indexes on the lower-cased
name, city and registration id serve the directory search (substring LIKE and
``<%`` word similarity, so a typo still finds the name); partial btree indexes
``(tenant_id, <sort key>, id) WHERE archived = false`` serve the sorted pages,
deep OFFSETs (index-only scans of ids) and the total count.

SQLite (the embedded default) has no trigram search: the directory falls back
to case-insensitive substring LIKE (a scan, fine at embedded sizes); the same
btree sort indexes are created there too.

All indexes here are expression indexes, which model autogenerate does not
compare, so they live in this migration only.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> (columns, partial condition); the queries in crm/members/queries.py
# write their archived test as ``archived = false`` so the planner matches these.
SORT_INDEXES = {
    "ix_organisations_dir_name": ("tenant_id, lower(name), id", "archived = false"),
    "ix_organisations_dir_city": ("tenant_id, lower(city), id", "archived = false"),
    "ix_organisations_dir_kind_name": ("tenant_id, kind, lower(name), id", "archived = false"),
    "ix_organisations_dir_archived_name": ("tenant_id, lower(name), id", "archived = true"),
}
TRIGRAM_INDEXES = {
    "ix_organisations_name_trgm": "lower(name)",
    "ix_organisations_city_trgm": "lower(city)",
    "ix_organisations_registration_trgm": "lower(registration_id)",
}


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    for name, (columns, where) in SORT_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON organisations ({columns}) WHERE {where}")
    if not postgres:
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON organisations USING gin ({expression} gin_trgm_ops)")


def downgrade() -> None:
    for name in [*SORT_INDEXES, *TRIGRAM_INDEXES]:
        op.execute(f"DROP INDEX IF EXISTS {name}")
