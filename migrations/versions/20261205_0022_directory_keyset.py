"""The directory's sort keys as columns: keyset pages that do not grow with the association.

Under row-level security PostgreSQL lets only leakproof conditions into an index
scan, and ``lower(name) > …`` is not one (``lower`` is not leakproof): a
keyset cursor on the expression indexes of 0004 was a filter that read the
association's rows up to the cursor. ``sort_name`` and ``sort_city`` hold
``lower(name)`` and ``lower(city)`` (generated: stored on PostgreSQL, virtual on
SQLite, written by nobody), and a comparison of a plain column is leakproof, so
``(sort_name, id) > (…)`` is an index condition and a page 90 % down costs what
the first costs.

The directory's sort indexes move to the new columns: name, city, kind then
name, region then name, and the archived list by name. ``ix_organisations_dir_name``
(the search's index-only scan, and other lists ordered by name) and
``ix_organisations_dir_kind_name`` (the dashboard's counts, cluster choices)
stay as they are.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# column -> (type, source column)
SORT_COLUMNS = {"sort_name": ("VARCHAR(200)", "name"), "sort_city": ("VARCHAR(120)", "city")}
LIVE = "archived = false"
# name -> (keys, partial condition); PostgreSQL INCLUDEs is_external (the members-only
# default filters on it) so pages and counts stay index-only scans, and the name
# index the search's columns too (its filter reads the index alone).
SEARCHED = "sort_city, registration_id"
KEYSET_INDEXES = {
    "ix_organisations_dir_sort_name": ("tenant_id, sort_name, id", LIVE),
    "ix_organisations_dir_sort_city": ("tenant_id, sort_city, id", LIVE),
    "ix_organisations_dir_kind_sort": ("tenant_id, kind, sort_name, id", LIVE),
    "ix_organisations_dir_region_sort": ("tenant_id, nuts2, sort_name, id", LIVE),
    "ix_organisations_dir_archived_sort": ("tenant_id, sort_name, id", "archived = true"),
}
# The 0004/0011 indexes these replace: name -> (keys, INCLUDE, partial condition).
REPLACED = {
    "ix_organisations_dir_city": ("tenant_id, lower(city), id", "city, is_external", LIVE),
    "ix_organisations_dir_region_name": (
        "tenant_id, nuts2, lower(name), id",
        "name, is_external",
        LIVE,
    ),
    "ix_organisations_dir_archived_name": ("tenant_id, lower(name), id", "name", "archived = true"),
}


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:  # one rewrite of the table for both columns
        op.execute(
            "ALTER TABLE organisations "
            + ", ".join(
                f"ADD COLUMN {column} {type_} GENERATED ALWAYS AS (lower({source})) STORED"
                for column, (type_, source) in SORT_COLUMNS.items()
            )
        )
    else:  # SQLite adds only virtual generated columns to an existing table
        for column, (type_, source) in SORT_COLUMNS.items():
            op.execute(
                f"ALTER TABLE organisations ADD COLUMN {column} {type_} "
                f"GENERATED ALWAYS AS (lower({source})) VIRTUAL"
            )
    for name in REPLACED:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, (keys, where) in KEYSET_INDEXES.items():
        included = "is_external" + (f", {SEARCHED}" if name.endswith("_sort_name") else "")
        include = f" INCLUDE ({included})" if postgres and where == LIVE else ""
        op.execute(f"CREATE INDEX {name} ON organisations ({keys}){include} WHERE {where}")


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    for name in KEYSET_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, (keys, included, where) in REPLACED.items():
        include = f" INCLUDE ({included})" if postgres else ""
        op.execute(f"CREATE INDEX {name} ON organisations ({keys}){include} WHERE {where}")
    for column in SORT_COLUMNS:
        op.execute(f"ALTER TABLE organisations DROP COLUMN {column}")
