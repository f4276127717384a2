"""Row-level security on every tenant-owned table (PostgreSQL only).

The application sets ``app.tenant_id`` at the start of each transaction
(``set_config(..., true)``); with no setting, no tenant row is visible.
FORCE makes the policies bind the table owner too; superusers and roles with
BYPASSRLS still bypass them, which is why the app connects as a plain role.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"

TENANT_TABLES = [
    "organisations",
    "association_memberships",
    "membership_status_changes",
    "cluster_memberships",
    "contacts",
    "organisation_ecosystems",
    "projects",
    "project_ecosystems",
    "project_flagships",
    "project_status_changes",
    "participations",
]
# Rows with tenant_id NULL belong to the alliance office: visible only outside any tenant.
NULLABLE_TENANT_TABLES = ["audit_events", "job_runs"]


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        _protect(table, f"tenant_id = {CURRENT}")
    for table in NULLABLE_TENANT_TABLES:
        _protect(table, f"tenant_id IS NOT DISTINCT FROM {CURRENT}")


def _protect(table: str, condition: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES + NULLABLE_TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
