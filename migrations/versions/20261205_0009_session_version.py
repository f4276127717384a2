"""Session version defaults to 1 in the database too.

``users.session_version`` is part of every session and remember-me identity
("id:version"); signing out, a password change and deactivation bump it, so
cookies issued before no longer open anything. The column exists since 0001;
this gives it a server default, so a user row inserted outside the ORM (SQL
loads, database functions) starts at version 1 rather than failing NOT NULL.

PostgreSQL only: SQLite changes a default only by copying the table, which
would drop the expression index on lower(email); there the ORM default holds.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set_default(default) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.alter_column(
        "users",
        "session_version",
        existing_type=sa.Integer(),
        existing_nullable=False,
        server_default=default,
    )


def upgrade() -> None:
    _set_default(sa.text("1"))


def downgrade() -> None:
    _set_default(None)
