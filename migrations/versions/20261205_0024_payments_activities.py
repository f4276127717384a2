"""Renewals with payments, and the activity timeline.

``association_memberships``: ``fee_amount`` and ``fee_currency`` (what one
period costs: the dashboard's "outstanding"), ``period_months`` (how far a
payment moves ``paid_until``; 12 unless set).
``payments``: each payment of a membership (amount, currency, date, method,
reference, the period it covers, who recorded it).
``activities``: notes, calls and meetings about an organisation, optionally
with one of its contacts.
Both tables are tenant-owned: composite foreign keys with ``tenant_id`` and
row-level security like every tenant table.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
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


def _same_tenant(table: str, column: str, target: str, **kw) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        **kw,
    )


def _by_user(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="SET NULL"
    )


def _isolate(table: str) -> None:
    if op.get_context().dialect.name == "postgresql":
        condition = f"tenant_id = {CURRENT}"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


# Plain ALTERs, not batch mode (see 0016): SQLite adds these columns in place.
def upgrade() -> None:
    op.add_column(
        "association_memberships", sa.Column("fee_amount", sa.Numeric(12, 2), nullable=True)
    )
    op.add_column(
        "association_memberships",
        sa.Column("fee_currency", sa.String(length=3), nullable=False, server_default="EUR"),
    )
    op.add_column(
        "association_memberships",
        sa.Column("period_months", sa.Integer(), nullable=False, server_default="12"),
    )
    op.create_table(
        "payments",
        *_tenant_columns("payments"),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _same_tenant("payments", "membership_id", "association_memberships", ondelete="CASCADE"),
        _by_user("payments", "recorded_by_id"),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_payments_amount_not_negative")),
        sa.CheckConstraint("period_to >= period_from", name=op.f("ck_payments_period_in_order")),
    )
    op.create_index(
        "ix_payments_tenant_membership_paid",
        "payments",
        ["tenant_id", "membership_id", "paid_on"],
    )
    op.create_index("ix_payments_tenant_paid", "payments", ["tenant_id", "paid_on"])
    op.create_table(
        "activities",
        *_tenant_columns("activities"),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _same_tenant("activities", "organisation_id", "organisations", ondelete="CASCADE"),
        _same_tenant("activities", "contact_id", "contacts"),
        _by_user("activities", "author_id"),
        sa.CheckConstraint(
            "kind IN ('note', 'call', 'meeting')", name=op.f("ck_activities_kind_known")
        ),
    )
    op.create_index(
        "ix_activities_tenant_organisation_at",
        "activities",
        ["tenant_id", "organisation_id", "occurred_at"],
    )
    op.create_index(
        "ix_activities_tenant_contact_at", "activities", ["tenant_id", "contact_id", "occurred_at"]
    )
    for table in ("payments", "activities"):
        _isolate(table)


def downgrade() -> None:
    op.drop_table("activities")  # indexes and policies go with the tables
    op.drop_table("payments")
    op.drop_column("association_memberships", "period_months")
    op.drop_column("association_memberships", "fee_currency")
    op.drop_column("association_memberships", "fee_amount")
