"""Optimistic locking, the one-coordinator rule in the database, export files.

``version`` on organisations, association_memberships, contacts, projects and
participations: SQLAlchemy's ``version_id_col`` checks and bumps it on every
UPDATE, and forms carry the version the user opened (``crm.conflicts``), so
a save from a stale form is refused instead of reverting someone's change.

``uq_participations_one_coordinator``: at most one coordinator per project
record, enforced by a partial unique index so that two users adding a
coordinator at the same moment cannot both succeed. A project that already
has several keeps the first one logged and the others become partners (the
index could not be built otherwise); the migration logs how many.

``export_files``: the XLSX files that background export runs build (too large
to build in a request), kept until they expire; tenant-owned, under row-level
security like every tenant table.

Revision ID: 0016
Revises: 0015
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

log = logging.getLogger("alembic.runtime.migration")

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED = ("organisations", "association_memberships", "contacts", "projects", "participations")
COORDINATOR = "role = 'coordinator'"
CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"

# Every coordinator but the first logged of its project (lowest id).
_EXTRA_COORDINATORS = f"""
    UPDATE participations SET role = 'partner'
    WHERE {COORDINATOR} AND EXISTS (
        SELECT 1 FROM participations AS earlier
        WHERE earlier.tenant_id = participations.tenant_id
          AND earlier.project_id = participations.project_id
          AND earlier.{COORDINATOR} AND earlier.id < participations.id
    )
"""


# Plain ALTERs, not batch mode: SQLite adds a column with a constant default
# in place, and batch mode could not reflect the expression indexes of 0004.
def upgrade() -> None:
    for table in VERSIONED:
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    demoted = op.get_bind().execute(sa.text(_EXTRA_COORDINATORS)).rowcount
    if demoted:
        log.warning("%d extra coordinator(s) became partners", demoted)
    op.create_index(
        "uq_participations_one_coordinator",
        "participations",
        ["tenant_id", "project_id"],
        unique=True,
        postgresql_where=sa.text(COORDINATOR),
        sqlite_where=sa.text(COORDINATOR),
    )
    _create_export_files()


def _create_export_files() -> None:
    op.create_table(
        "export_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_export_files_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_export_files_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_files")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_export_files_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "run_id", name=op.f("uq_export_files_tenant_id_run_id")),
    )
    op.create_index("ix_export_files_tenant_expires", "export_files", ["tenant_id", "expires_at"])
    if op.get_context().dialect.name == "postgresql":
        # Row-level security as in 0003: only the current tenant's files.
        condition = f"tenant_id = {CURRENT}"
        op.execute("ALTER TABLE export_files ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE export_files FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY tenant_isolation ON export_files "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


def downgrade() -> None:
    op.drop_index("ix_export_files_tenant_expires", table_name="export_files")
    op.drop_table("export_files")  # its policy goes with it
    op.drop_index("uq_participations_one_coordinator", table_name="participations")
    for table in VERSIONED:
        op.drop_column(table, "version")
