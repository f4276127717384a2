"""Project list order index: (tenant, start date newest first, id).

The project list, its exports, "My cluster" and the organisation filter all
order a tenant's projects by ``start_date DESC NULLS LAST, id DESC``
(``crm/projects/queries.py``); the year filter is a start-date range. With this
index a page is an index scan that stops after OFFSET + LIMIT entries instead
of a sort of every project of the association, and a year is a range scan.

PostgreSQL only, like the trigram indexes of 0004: SQLite refuses NULLS LAST in
an index and reflects a DESC index as a plain one (which autogenerate would
then want to drop), and at embedded sizes the sort is cheap. PostgreSQL
reflects the sorted columns as expressions, which model autogenerate leaves
alone (``crm.database.include_in_autogenerate``), so it lives in this migration
only.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_projects_tenant_start"


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX {INDEX} ON projects (tenant_id, start_date DESC NULLS LAST, id DESC)")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
