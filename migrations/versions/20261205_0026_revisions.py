"""The classification revision of an organisation's region and activity codes, and
the CORDIS exports uploaded on the alliance page.

* ``organisations.nuts_revision``: the NUTS revision ``nuts2`` is a code of
  (``2016``, ``2021``, ``2024``); existing rows are NUTS 2021, the one the
  forms and imports have checked so far.
* ``organisations.nace_revision``: the NACE revision of ``nace`` (``2`` or
  ``2.1``); existing rows are Rev. 2.

Both are NOT NULL with a server default, so the bulk paths (demo, imports) that
leave them out get the defaults; row-level security and grants of
``organisations`` cover them.

* ``cordis_uploads``: an uploaded export (the zip's bytes) until its load job
  has read it. Alliance-wide like the CORDIS tables, not tenant-owned (no
  ``tenant_id``, no RLS): only the alliance admin's page writes it, and the
  loader (the owner) deletes it.

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, not batch mode: SQLite cannot reflect the expression indexes of 0004.
def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column("nuts_revision", sa.String(length=4), nullable=False, server_default="2021"),
    )
    op.add_column(
        "organisations",
        sa.Column("nace_revision", sa.String(length=3), nullable=False, server_default="2"),
    )
    op.create_table(
        "cordis_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name="fk_cordis_uploads_uploaded_by_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cordis_uploads"),
    )


def downgrade() -> None:
    op.drop_table("cordis_uploads")
    for column in ("nace_revision", "nuts_revision"):
        op.drop_column("organisations", column)
