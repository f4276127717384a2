"""E-mail: the outbox, consent per purpose, each association's sender.

``outbox_messages``: without ``SMTP_URL`` every outgoing message is stored here
instead (the embedded default), for the association admin to read.
``email_consents``: what a contact said about each purpose of e-mail
(membership communications, newsletters and events), when and how.
``tenants.mail_from``: the association's own sender address.
Both tables are tenant-owned, under row-level security like every tenant table.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"


def _tenant_columns(table: str) -> list:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f(f"uq_{table}_tenant_id_id")),
    ]


def _isolate(table: str) -> None:
    if op.get_context().dialect.name == "postgresql":
        condition = f"tenant_id = {CURRENT}"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


def upgrade() -> None:
    op.add_column("tenants", sa.Column("mail_from", sa.String(length=320), nullable=True))
    op.create_table(
        "outbox_messages",
        *_tenant_columns("outbox_messages"),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_outbox_messages_tenant_created", "outbox_messages", ["tenant_id", "created_at"]
    )
    op.create_table(
        "email_consents",
        *_tenant_columns("email_consents"),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "contact_id"],
            ["contacts.tenant_id", "contacts.id"],
            name=op.f("fk_email_consents_tenant_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "contact_id",
            "purpose",
            name=op.f("uq_email_consents_tenant_id_contact_id_purpose"),
        ),
    )
    for table in ("outbox_messages", "email_consents"):
        _isolate(table)


def downgrade() -> None:
    op.drop_table("email_consents")  # policies go with the tables
    op.drop_index("ix_outbox_messages_tenant_created", table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_column("tenants", "mail_from")
