"""Runs that always end: a heartbeat, and at most one active run per key.

* ``job_runs.heartbeat_at``: written by a running job (``crm.jobs``); a run whose
  beat is stale is marked "abandoned" (a new status; the column is free text).
* ``job_runs.active_key`` and the partial unique index ``uq_job_runs_active_key``
  on it where the run is queued or running: two concurrent starts of the same
  refresh insert the same key, the second insert fails, and that start joins
  the first run. Runs without a key (imports) are not limited.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.add_column("job_runs", sa.Column("active_key", sa.String(80), nullable=True))
    op.add_column("job_runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "uq_job_runs_active_key",
        "job_runs",
        ["active_key"],
        unique=True,
        postgresql_where=sa.text(ACTIVE),
        sqlite_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_job_runs_active_key", table_name="job_runs")
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("active_key")
