"""Mailings and renewal reminders.

``mailings``: a message written once (subject and body templates, a purpose, an
audience of directory filters), its status and schedule. ``mailing_recipients``:
each contact's copy, with the address used, its status and the server's answer;
one per (mailing, contact). ``reminder_settings``: an association's reminder
steps (days before and after the paid-until date), text and lapse rule.
``reminder_log``: a step done for a membership's paid-until date, unique, so a
reminder is never sent twice. All tenant-owned, under row-level security.

Revision ID: 0027
Revises: 0026
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
TABLES = ("mailings", "mailing_recipients", "reminder_settings", "reminder_log")


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


def _same_tenant_fk(table: str, column: str, target: str, **kw) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        **kw,
    )


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="SET NULL"
    )


def _timestamps() -> list:
    return [
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
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
    op.create_table(
        "mailings",
        *_tenant_columns("mailings"),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        *_timestamps(),
        _user_fk("mailings", "created_by_id"),
    )
    op.create_index("ix_mailings_tenant_created", "mailings", ["tenant_id", "created_at"])
    op.create_index(
        "ix_mailings_tenant_status_scheduled", "mailings", ["tenant_id", "status", "scheduled_at"]
    )
    op.create_table(
        "mailing_recipients",
        *_tenant_columns("mailing_recipients"),
        sa.Column("mailing_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        _same_tenant_fk("mailing_recipients", "mailing_id", "mailings", ondelete="CASCADE"),
        _same_tenant_fk("mailing_recipients", "contact_id", "contacts", ondelete="CASCADE"),
        sa.UniqueConstraint(
            "tenant_id",
            "mailing_id",
            "contact_id",
            name=op.f("uq_mailing_recipients_tenant_id_mailing_id_contact_id"),
        ),
    )
    op.create_index(
        "ix_mailing_recipients_tenant_mailing_status",
        "mailing_recipients",
        ["tenant_id", "mailing_id", "status"],
    )
    op.create_index(
        "ix_mailing_recipients_tenant_contact", "mailing_recipients", ["tenant_id", "contact_id"]
    )
    op.create_table(
        "reminder_settings",
        *_tenant_columns("reminder_settings"),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("lapse_after_days", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_reminder_settings_tenant_id")),
    )
    op.create_table(
        "reminder_log",
        *_tenant_columns("reminder_log"),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("paid_until", sa.Date(), nullable=False),
        sa.Column("mailing_id", sa.Integer(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _same_tenant_fk(
            "reminder_log", "membership_id", "association_memberships", ondelete="CASCADE"
        ),
        _same_tenant_fk("reminder_log", "mailing_id", "mailings"),
        sa.UniqueConstraint(
            "tenant_id",
            "membership_id",
            "step",
            "paid_until",
            name=op.f("uq_reminder_log_tenant_id_membership_id_step_paid_until"),
        ),
    )
    for table in TABLES:
        _isolate(table)


def downgrade() -> None:
    for table in reversed(TABLES):  # indexes and policies go with the tables
        op.drop_table(table)
