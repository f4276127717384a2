"""Metric snapshots written by the metrics jobs.

Both tables carry ``tenant_id`` (NULL for the alliance-wide snapshot). Under
row-level security a tenant sees its own snapshots and the alliance's (which
the application suppresses when it shows them); the metrics role, which
writes them, bypasses RLS.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
TABLES = ("metric_snapshots", "metric_values")


def upgrade() -> None:
    op.create_table(
        "metric_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_run_id"],
            ["job_runs.id"],
            name=op.f("fk_metric_snapshots_job_run_id_job_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_metric_snapshots_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_snapshots")),
    )
    with op.batch_alter_table("metric_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_snapshots_tenant_complete_taken",
            ["tenant_id", "complete", "taken_at"],
            unique=False,
        )
    op.create_table(
        "metric_values",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("d1", sa.String(length=60), nullable=False),
        sa.Column("d2", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("base", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["metric_snapshots.id"],
            name=op.f("fk_metric_values_snapshot_id_metric_snapshots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_metric_values_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_values")),
    )
    with op.batch_alter_table("metric_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_values_snapshot_metric", ["snapshot_id", "metric"], unique=False
        )
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            # Read: own rows and the alliance's aggregates; write: own rows only.
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING (tenant_id IS NULL OR tenant_id = {CURRENT}) "
                f"WITH CHECK (tenant_id IS NOT DISTINCT FROM {CURRENT})"
            )


def downgrade() -> None:
    with op.batch_alter_table("metric_values", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_values_snapshot_metric")
    op.drop_table("metric_values")
    with op.batch_alter_table("metric_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_snapshots_tenant_complete_taken")
    op.drop_table("metric_snapshots")
