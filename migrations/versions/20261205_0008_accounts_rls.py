"""The second wall for users and associations (PostgreSQL only).

* ``users``: row-level security (ENABLE + FORCE). A tenant user is visible and
  writable only with ``app.tenant_id`` set to their tenant; an alliance user
  (``tenant_id`` NULL) only with ``app.scope = 'alliance'``
  (``crm.tenancy.alliance_scope``). With neither, no user row is visible.
* Narrow ``SECURITY DEFINER`` functions, owned by the owner, with a pinned
  ``search_path``, for what must happen before the wall is known:
  ``auth_user_by_email`` / ``auth_user_by_id`` give a user's id and tenant (no
  e-mail, no hash) so sign-in, the session loader and reset links can set the
  user's scope and then read the row under RLS; ``tenant_user_counts`` gives
  the alliance admin's overview its counts; ``create_tenant`` is the only way
  the app role adds an association (it has SELECT only on ``tenants``), and
  only in the alliance scope.
* FORCE binds the owner too, so the functions see users through one more
  policy clause: ``app.definer = 'on'`` (switched on and off by the functions
  around their query) while the current user is the table's owner. The app
  role can never be that user, whatever it sets.

Grants (EXECUTE to the app role, SELECT-only on reference tables, the metrics
role's column lists) are in ``crm.database.role_statements``.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
ALLIANCE = "current_setting('app.scope', true) = 'alliance'"
OWNER_IN_DEFINER = (
    "(current_setting('app.definer', true) = 'on' AND current_user = "
    "(SELECT pg_catalog.pg_get_userbyid(relowner) FROM pg_catalog.pg_class "
    "WHERE oid = 'public.users'::regclass))"
)
VISIBLE = f"tenant_id = {CURRENT} OR (tenant_id IS NULL AND {ALLIANCE}) OR {OWNER_IN_DEFINER}"
# Functions run as their owner: search_path pinned so no object of the caller's
# choosing is found first; tables are named with their schema all the same.
DEFINER = "LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp"


def _reading_users(returns: str, query: str) -> str:
    """A definer function returning ``query``, which reads past the ``users`` policy.

    ``app.definer`` is switched on around the query only (a function's own SET
    clause would do it more neatly, but only a superuser may put a custom
    setting there, and the owner should not be one).
    """
    return f"""
        RETURNS TABLE ({returns}) {DEFINER} AS $$
        #variable_conflict use_column
        BEGIN
            PERFORM set_config('app.definer', 'on', true);
            RETURN QUERY {query};
            PERFORM set_config('app.definer', '', true);
        END
        $$"""


FUNCTIONS = {
    "auth_user_by_email(text)": _reading_users(
        "id integer, tenant_id integer",
        "SELECT u.id, u.tenant_id FROM public.users u WHERE lower(u.email) = lower(btrim($1))",
    ),
    "auth_user_by_id(integer)": _reading_users(
        "id integer, tenant_id integer",
        "SELECT u.id, u.tenant_id FROM public.users u WHERE u.id = $1",
    ),
    "tenant_user_counts()": _reading_users(
        "tenant_id integer, users bigint, admins bigint",
        "SELECT u.tenant_id, count(*), "
        "count(*) FILTER (WHERE u.active AND u.role = 'tenant_admin') "
        "FROM public.users u WHERE u.tenant_id IS NOT NULL GROUP BY u.tenant_id",
    ),
    "create_tenant(text, text, text)": f"""
        RETURNS integer {DEFINER} AS $$
        DECLARE
            new_id integer;
        BEGIN
            IF current_setting('app.scope', true) IS DISTINCT FROM 'alliance' THEN
                RAISE EXCEPTION 'associations are created in the alliance scope only'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            INSERT INTO public.tenants (slug, name, country, created_at)
            VALUES ($1, $2, $3, now()) RETURNING id INTO new_id;
            RETURN new_id;
        END
        $$""",
}


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE users ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE users FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY user_isolation ON users USING ({VISIBLE}) WITH CHECK ({VISIBLE})")
    for signature, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION public.{signature} {body}")
        # Functions are executable by PUBLIC by default; grant_roles gives it back
        # to the app role alone.
        op.execute(f"REVOKE ALL ON FUNCTION public.{signature} FROM PUBLIC")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS public.{signature}")
    op.execute("DROP POLICY IF EXISTS user_isolation ON users")
    op.execute("ALTER TABLE users NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY")
