"""The directory's name order in each language: one name-sort index per ICU collation.

The directory sorts by ``sort_name COLLATE "<language>-x-icu"`` on PostgreSQL
(``crm.collation``: Łódź after Lublin in Polish, ñ after n in Spanish, ch after
h in Czech). A keyset page reads an index only if the index has that collation,
so each collation gets its own ``(tenant_id, sort_name, id)`` index, like
``ix_organisations_dir_sort_name`` (0022): the nine languages whose order
CLDR tailors, and the root order ("und") for English, French, Portuguese and
Bulgarian. The other sorts (city, kind, region) sort an association's matching
rows without an index (top-N). SQLite sorts with the ``sort_key`` function and
needs nothing here.

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As crm.collation.TAILORED, plus the root order; frozen here as the migration's own.
COLLATIONS = ("und", "cs", "es", "fi", "hu", "lt", "lv", "pl", "ro", "sk")


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for language in COLLATIONS:
        op.execute(
            f"CREATE INDEX ix_organisations_dir_name_{language} ON organisations "
            f'(tenant_id, sort_name COLLATE "{language}-x-icu", id) '
            # As the default-order index of 0029: the search's filter reads the index only.
            "INCLUDE (is_external, search_name, search_city, registration_id) "
            "WHERE archived = false"
        )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for language in COLLATIONS:
        op.execute(f"DROP INDEX IF EXISTS ix_organisations_dir_name_{language}")
