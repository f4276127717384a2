"""Snapshot coverage: which associations each alliance figure is based on.

``metric_snapshots.coverage`` (JSON, alliance snapshots only): per association
its name, country and the time its data were last changed, and per metric the
associations with at least one record in it; the alliance pages show "based on
N of M associations; data last updated ..." beside every figure from it.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("metric_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_snapshots", schema=None) as batch_op:
        batch_op.drop_column("coverage")
