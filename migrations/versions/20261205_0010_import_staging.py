"""Import staging: the table read once at upload, the bytes stored, the file's deletion.

``staged`` holds the uploaded file's table as the child process read it
(gzip-compressed JSON lines, ``crm.imports.staging``); ``stored_bytes`` is what
the batch's files take (original and staged), summed for the association's
quota; ``file_deleted_at`` is set when the retention period removed them. The
table keeps its row-level security (0005); no new table.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staged", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("stored_bytes", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("file_deleted_at", sa.DateTime(timezone=True), nullable=True))
    # Batches uploaded before: their file counts towards the quota. (Run as the
    # owner; on PostgreSQL a superuser owner sees every tenant's rows, a plain
    # owner under FORCE ROW LEVEL SECURITY none, and those batches count 0 until
    # the retention period deletes them.)
    op.execute("UPDATE import_batches SET stored_bytes = length(content)")


def downgrade() -> None:
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_column("file_deleted_at")
        batch_op.drop_column("stored_bytes")
        batch_op.drop_column("staged")
