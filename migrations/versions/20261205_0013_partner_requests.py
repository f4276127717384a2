"""Partner requests, interests and shared contacts (issue 11, item 3), and the
moment each user last read the notifications.

PostgreSQL row-level security (ENABLE + FORCE), each table with its own policies:

* ``partner_requests``: every association reads (``USING (true)``, as for the
  published profiles of migration 0012, so the deadline index serves the
  alliance-wide list); only the owning association writes.
* ``partner_interests``: read and updated by the two associations concerned,
  the interested one (``tenant_id``) and the requester (``request_tenant_id``);
  inserted only by the interested one, never on its own association's request.
* ``partner_shared_contacts``: read by the association that shared the
  contact, and by the other side of the match only once the interest is
  accepted; written by the sharing association only.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
OWN = f"tenant_id = {CURRENT}"
PARTIES = f"({OWN} OR request_tenant_id = {CURRENT})"
ACCEPTED_PARTY = (
    "EXISTS (SELECT 1 FROM partner_interests i WHERE i.id = interest_id "
    f"AND i.status = 'accepted' AND (i.tenant_id = {CURRENT} OR i.request_tenant_id = {CURRENT}))"
)
POLICIES = {
    "partner_requests": {
        "requests_read": "FOR SELECT USING (true)",
        "requests_insert": f"FOR INSERT WITH CHECK ({OWN})",
        "requests_update": f"FOR UPDATE USING ({OWN}) WITH CHECK ({OWN})",
        "requests_delete": f"FOR DELETE USING ({OWN})",
    },
    "partner_interests": {
        "interests_read": f"FOR SELECT USING {PARTIES}",
        "interests_insert": (f"FOR INSERT WITH CHECK ({OWN} AND request_tenant_id <> {CURRENT})"),
        "interests_update": f"FOR UPDATE USING {PARTIES} WITH CHECK {PARTIES}",
        "interests_delete": f"FOR DELETE USING ({OWN})",
    },
    "partner_shared_contacts": {
        "shared_contacts_read": f"FOR SELECT USING ({OWN} OR {ACCEPTED_PARTY})",
        "shared_contacts_insert": f"FOR INSERT WITH CHECK ({OWN})",
        "shared_contacts_update": f"FOR UPDATE USING ({OWN}) WITH CHECK ({OWN})",
        "shared_contacts_delete": f"FOR DELETE USING ({OWN})",
    },
}


def _fk(table: str, columns: list[str], target: str, target_columns: list[str], **kw):
    name = f"fk_{table}_{'_'.join(columns)}_{target}"
    return sa.ForeignKeyConstraint(
        columns, [f"{target}.{c}" for c in target_columns], name=name, **kw
    )


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("notifications_seen_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "partner_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("organisation_country", sa.String(length=2), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("programme_code", sa.String(length=20), nullable=False),
        sa.Column("call_identifier", sa.String(length=80), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("roles_sought", sa.String(length=300), nullable=True),
        sa.Column("kinds", sa.String(length=200), nullable=False),
        sa.Column("size_classes", sa.String(length=60), nullable=False),
        sa.Column("ecosystem_codes", sa.String(length=600), nullable=False),
        sa.Column("countries", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        _fk("partner_requests", ["tenant_id"], "tenants", ["id"], ondelete="CASCADE"),
        _fk(
            "partner_requests",
            ["tenant_id", "organisation_id"],
            "organisations",
            ["tenant_id", "id"],
            ondelete="CASCADE",
        ),
        _fk("partner_requests", ["programme_code"], "programmes", ["code"]),
        _fk("partner_requests", ["created_by"], "users", ["id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_partner_requests"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_partner_requests_tenant_id_id"),
    )
    op.create_index("ix_partner_requests_deadline", "partner_requests", ["deadline", "id"])
    op.create_index("ix_partner_requests_tenant", "partner_requests", ["tenant_id", "created_at"])
    op.create_table(
        "partner_interests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("request_tenant_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("organisation_country", sa.String(length=2), nullable=False),
        sa.Column("organisation_kind", sa.String(length=20), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_tenant_id", "request_id"],
            ["partner_requests.tenant_id", "partner_requests.id"],
            name="fk_partner_interests_request",
            ondelete="CASCADE",
        ),
        _fk("partner_interests", ["tenant_id"], "tenants", ["id"], ondelete="CASCADE"),
        _fk(
            "partner_interests",
            ["tenant_id", "organisation_id"],
            "organisations",
            ["tenant_id", "id"],
            ondelete="CASCADE",
        ),
        _fk("partner_interests", ["created_by"], "users", ["id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_partner_interests"),
        sa.UniqueConstraint(
            "request_id",
            "tenant_id",
            "organisation_id",
            name="uq_partner_interests_request_id_tenant_id_organisation_id",
        ),
    )
    op.create_index(
        "ix_partner_interests_request_tenant",
        "partner_interests",
        ["request_tenant_id", "created_at"],
    )
    op.create_index(
        "ix_partner_interests_tenant", "partner_interests", ["tenant_id", "organisation_id"]
    )
    op.create_table(
        "partner_shared_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interest_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("job_title", sa.String(length=120), nullable=True),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk(
            "partner_shared_contacts",
            ["interest_id"],
            "partner_interests",
            ["id"],
            ondelete="CASCADE",
        ),
        _fk("partner_shared_contacts", ["tenant_id"], "tenants", ["id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_partner_shared_contacts"),
        sa.UniqueConstraint(
            "interest_id", "tenant_id", name="uq_partner_shared_contacts_interest_id_tenant_id"
        ),
    )
    if op.get_context().dialect.name != "postgresql":
        return
    for table, policies in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for name, rule in policies.items():
            op.execute(f"CREATE POLICY {name} ON {table} {rule}")


def downgrade() -> None:
    for table in ("partner_shared_contacts", "partner_interests", "partner_requests"):
        op.drop_table(table)  # their policies and indexes go with them
    op.drop_column("users", "notifications_seen_at")
