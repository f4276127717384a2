"""Interface languages and time zones.

``users.language``: the language a user chose for the interface.
``tenants.language`` and ``tenants.time_zone``: an association's own, when it
differs from its country's (``crm.i18n.COUNTRY_DEFAULTS``). Empty means the
default, so existing rows need no update.

Revision ID: 0028
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("tenants", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("tenants", sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "time_zone")
    op.drop_column("tenants", "language")
    op.drop_column("users", "language")
