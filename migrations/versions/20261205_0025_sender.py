"""An association sets its own sender address (PostgreSQL only).

The app role reads ``tenants`` and may not write it (migration 0008): an
association admin changes ``tenants.mail_from`` through
``set_tenant_mail_from(text)``, a ``SECURITY DEFINER`` function that updates
the one association named by ``app.tenant_id`` (the request's tenant), that
column only. Another association's row stays out of reach at the database too.
The grant (EXECUTE to the app role) is in ``crm.database.role_statements``.

Revision ID: 0025
Revises: 0024
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "set_tenant_mail_from(text)"
# Runs as its owner: search_path pinned, tables named with their schema.
BODY = """
    RETURNS integer LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        current_tenant integer := NULLIF(current_setting('app.tenant_id', true), '')::integer;
    BEGIN
        IF current_tenant IS NULL THEN
            RAISE EXCEPTION 'the sender is set in an association''s scope only'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        UPDATE public.tenants SET mail_from = NULLIF(btrim($1), '') WHERE id = current_tenant;
        RETURN current_tenant;
    END
    $$"""


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(f"CREATE FUNCTION public.{SIGNATURE} {BODY}")
    op.execute(f"REVOKE ALL ON FUNCTION public.{SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS public.{SIGNATURE}")
