"""Optimistic locking and the one-coordinator rule in the database.

``version`` on organisations, association_memberships, contacts, projects and
participations: SQLAlchemy's ``version_id_col`` checks and bumps it on every
UPDATE, and forms carry the version the user opened (``crm.conflicts``), so
a save from a stale form is refused instead of reverting someone's change.

``uq_participations_one_coordinator``: at most one coordinator per project
record, enforced by a partial unique index so that two users adding a
coordinator at the same moment cannot both succeed. A project that already
has several keeps the first one logged and the others become partners (the
index could not be built otherwise); the migration logs how many.

Revision ID: locking_1
Revises: 0012
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

log = logging.getLogger("alembic.runtime.migration")

revision: str = "locking_1"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED = ("organisations", "association_memberships", "contacts", "projects", "participations")
COORDINATOR = "role = 'coordinator'"

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


def downgrade() -> None:
    op.drop_index("uq_participations_one_coordinator", table_name="participations")
    for table in VERSIONED:
        op.drop_column(table, "version")
