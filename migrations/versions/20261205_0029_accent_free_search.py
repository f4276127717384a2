"""Accent-free search: folded names as generated columns, searched on both databases.

``crm_fold(text)`` folds as ``crm.folding.fold`` does in Python (lower case,
accents gone, punctuation runs as one space): on PostgreSQL an IMMUTABLE SQL
function over ``unaccent`` (a trusted extension), on SQLite the Python function
itself, registered on every connection (``crm.dialects.tune_sqlite``). The
query is folded in Python, so "Lodz" finds "Łódź" the same way on both.

Generated columns hold the folded values (stored on PostgreSQL, virtual on
SQLite): ``organisations.search_name`` and ``search_city``,
``contacts.search_name`` ("first last").

Under row-level security LIKE is never an index condition (it is not
leakproof), so the substring search stays a filter over an index-only scan:
the directory's name index now INCLUDEs the folded name and city instead of
``sort_city``, and the contacts' name index the folded name. The nearest-
neighbour GiST trigram index (an ORDER BY, which RLS lets an index drive) moves
to the folded name, for the closest-names fallback and the suggestions.

Revision ID: 0029
Revises: 0028
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Cyrillic letters whose mark unaccent keeps and Python's NFKD drops: folded alike.
_CYRILLIC = ("йѝѐѓїќў", "ииегіку")
FOLD = f"""
    CREATE FUNCTION public.crm_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.translate(
        pg_catalog.lower(public.unaccent('public.unaccent'::regdictionary, $1)),
        '{_CYRILLIC[0]}', '{_CYRILLIC[1]}'), '[^[:alnum:]]+', ' ', 'g'))"""
# table -> column -> source expression
COLUMNS = {
    "organisations": {"search_name": "name", "search_city": "city"},
    "contacts": {"search_name": "first_name || ' ' || last_name"},
}
LIVE = "archived = false"
NAME_INDEX = "ix_organisations_dir_sort_name"
CONTACTS_INDEX = "ix_contacts_tenant_name"
KNN_INDEX = "ix_organisations_name_knn"


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        op.execute(FOLD)
    for table, columns in COLUMNS.items():
        if postgres:  # one rewrite of each table
            op.execute(
                f"ALTER TABLE {table} "
                + ", ".join(
                    f"ADD COLUMN {column} TEXT GENERATED ALWAYS AS (crm_fold({source})) STORED"
                    for column, source in columns.items()
                )
            )
        else:
            for column, source in columns.items():
                op.execute(
                    f"ALTER TABLE {table} ADD COLUMN {column} TEXT "
                    f"GENERATED ALWAYS AS (crm_fold({source})) VIRTUAL"
                )
    if not postgres:
        return
    _name_index("is_external, search_name, search_city, registration_id")
    _contacts_index("organisation_id, role, email, search_name")
    op.execute(f"DROP INDEX IF EXISTS {KNN_INDEX}")
    op.execute(
        f"CREATE INDEX {KNN_INDEX} ON organisations USING gist (tenant_id, search_name gist_trgm_ops)"
    )


def _name_index(included: str) -> None:
    op.execute(f"DROP INDEX IF EXISTS {NAME_INDEX}")
    op.execute(
        f"CREATE INDEX {NAME_INDEX} ON organisations (tenant_id, sort_name, id) "
        f"INCLUDE ({included}) WHERE {LIVE}"
    )


def _contacts_index(included: str) -> None:
    op.execute(f"DROP INDEX IF EXISTS {CONTACTS_INDEX}")
    op.execute(
        f"CREATE INDEX {CONTACTS_INDEX} ON contacts (tenant_id, last_name, first_name, id) "
        f"INCLUDE ({included}) WHERE erased_at IS NULL"
    )


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:
        op.execute(f"DROP INDEX IF EXISTS {KNN_INDEX}")
        op.execute(
            f"CREATE INDEX {KNN_INDEX} ON organisations "
            "USING gist (tenant_id, lower(name) gist_trgm_ops)"
        )
    for table, columns in COLUMNS.items():
        for column in columns:  # drops the indexes that INCLUDE it too
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    if postgres:
        _name_index("is_external, sort_city, registration_id")
        _contacts_index("organisation_id, role, email")
        op.execute("DROP FUNCTION IF EXISTS public.crm_fold(text)")
