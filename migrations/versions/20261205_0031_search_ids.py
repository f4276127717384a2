"""The directory search through trigram indexes, under row-level security (PostgreSQL only).

Row-level security keeps operators that are not leakproof (LIKE) out of index
conditions, so the search was a filter over every index entry of the
association: its cost grew with the association. ``organisation_search_ids``
is a ``SECURITY DEFINER`` function that returns the ids of the *current*
association's (``app.tenant_id``; refused without one) organisations whose
folded name, folded city or registration id matches the given LIKE patterns.
Its owner bypasses row-level security (the superuser here; on a managed
PostgreSQL an owner with BYPASSRLS, see docs/operations.md), so the planner
may read the trigram indexes: the GiST index ``(tenant_id, search_name)`` of
migration 0029, which serves LIKE too, or the GIN index created here on the
folded name and city and the registration id (the tenant is not in it: a
``btree_gin`` tenant key drew plain ``tenant_id = …`` scans of the directory's
filtered pages onto it). The directory joins these ids to ``organisations``
read as the app role, so RLS still checks every row.

The directory's region filter is a range of NUTS codes: extended statistics on
``(tenant_id, nuts2)`` (most common pairs) let the planner see that a region
belongs to one association, so a filtered page is read from the name index in
order and stops at the page's end (a region taken as spread over every
association looked rare, and the whole association was read and sorted).

The statement is run with ``EXECUTE … USING``: planned for each call with the
patterns' values (a generic plan cannot tell a rare word from a common one).
The grant (EXECUTE to the app role) is in ``crm.database.APP_FUNCTIONS``.

Revision ID: 0031
Revises: 0030
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "organisation_search_ids(text, text, text)"
INDEX = "ix_organisations_search_trgm"
STATISTICS = "st_organisations_tenant_region"
# Runs as its owner: search_path pinned, the table named with its schema, the
# tenant taken from the transaction's setting (never from an argument).
BODY = """
    RETURNS SETOF integer LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 50
    SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        current_tenant integer := NULLIF(current_setting('app.tenant_id', true), '')::integer;
    BEGIN
        IF current_tenant IS NULL THEN
            RAISE EXCEPTION 'the directory is searched in an association''s scope only'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN QUERY EXECUTE
            'SELECT id FROM public.organisations WHERE tenant_id = $1 AND '
            '(search_name LIKE $2 OR search_city LIKE $3 OR lower(registration_id) LIKE $4)'
            USING current_tenant, $1, $2, $3;
    END
    $$"""


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE INDEX {INDEX} ON organisations USING gin (search_name gin_trgm_ops, "
        "search_city gin_trgm_ops, lower(registration_id) gin_trgm_ops)"
    )
    op.execute(f"CREATE STATISTICS {STATISTICS} (mcv) ON tenant_id, nuts2 FROM organisations")
    # Room for every pair (140 in the demo; an association has up to some 40 regions).
    # Collected by the next ANALYZE.
    op.execute(f"ALTER STATISTICS {STATISTICS} SET STATISTICS 500")
    op.execute(f"CREATE FUNCTION public.{SIGNATURE} {BODY}")
    op.execute(f"REVOKE ALL ON FUNCTION public.{SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS public.{SIGNATURE}")
    op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
