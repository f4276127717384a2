"""CORDIS reference data and each association's reconciliation decisions.

``cordis_projects`` and ``cordis_participants`` hold the EU's published grants
and participants: alliance-wide (no tenant), written by the owner only (the
loader), read-only to the app role (``crm.database.APP_READ_ONLY``). A load
fills the two ``*_staging`` tables first and swaps their rows in within one
transaction. ``cordis_loads`` records each completed load.

``cordis_links`` (the association's project for a grant, unique per grant) and
``cordis_dismissals`` (a participation not to record, with the reason) are
tenant-owned, under row-level security like migration 0003's tables.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
TENANT_TABLES = ("cordis_links", "cordis_dismissals")


def _project_columns() -> list[sa.Column]:
    return [
        sa.Column("grant_key", sa.String(length=40), nullable=False),
        sa.Column("programme_code", sa.String(length=20), nullable=False),
        sa.Column("framework_programme", sa.String(length=20), nullable=True),
        sa.Column("acronym", sa.String(length=60), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("total_cost", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("ec_max_contribution", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("legal_basis", sa.String(length=80), nullable=True),
        sa.Column("topics", sa.Text(), nullable=True),
        sa.Column("master_call", sa.String(length=120), nullable=True),
        sa.Column("sub_call", sa.String(length=120), nullable=True),
        sa.Column("funding_scheme", sa.String(length=80), nullable=True),
        sa.Column("ec_signature_date", sa.Date(), nullable=True),
    ]


def _participant_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_key", sa.String(length=40), nullable=False),
        sa.Column("pic", sa.String(length=9), nullable=True),
        sa.Column("vat_number", sa.String(length=30), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=True),
        sa.Column("short_name", sa.String(length=120), nullable=True),
        sa.Column("sme", sa.Boolean(), nullable=True),
        sa.Column("activity_type", sa.String(length=10), nullable=True),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("post_code", sa.String(length=30), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("nuts_code", sa.String(length=5), nullable=True),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("ec_contribution", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("net_ec_contribution", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("total_cost", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("end_of_participation", sa.Boolean(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
    ]


def upgrade() -> None:
    for name in ("cordis_projects", "cordis_projects_staging"):
        op.create_table(
            name, *_project_columns(), sa.PrimaryKeyConstraint("grant_key", name=f"pk_{name}")
        )
    for name in ("cordis_participants", "cordis_participants_staging"):
        op.create_table(
            name, *_participant_columns(), sa.PrimaryKeyConstraint("id", name=f"pk_{name}")
        )
    for column in ("pic", "vat_number", "grant_key"):
        op.create_index(f"ix_cordis_participants_{column}", "cordis_participants", [column])
    op.create_index(
        "ix_cordis_participants_country_name_key", "cordis_participants", ["country", "name_key"]
    )
    op.create_table(
        "cordis_loads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cordis_loads"),
    )
    op.create_table(
        "cordis_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_key", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("created_project", sa.Boolean(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_by_id"], ["users.id"], name="fk_cordis_links_linked_by_id_users",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"], ["projects.tenant_id", "projects.id"],
            name="fk_cordis_links_tenant_id_project_id_projects", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_cordis_links_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cordis_links"),
        sa.UniqueConstraint("tenant_id", "grant_key", name="uq_cordis_links_tenant_id_grant_key"),
    )  # fmt: skip
    op.create_table(
        "cordis_dismissals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_key", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("dismissed_by_id", sa.Integer(), nullable=True),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dismissed_by_id"], ["users.id"], name="fk_cordis_dismissals_dismissed_by_id_users",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organisation_id"], ["organisations.tenant_id", "organisations.id"],
            name="fk_cordis_dismissals_tenant_id_organisation_id_organisations", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_cordis_dismissals_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cordis_dismissals"),
        sa.UniqueConstraint(
            "tenant_id", "grant_key", "organisation_id", name="uq_cordis_dismissals_tenant_id_grant_key_organisation_id"
        ),
    )  # fmt: skip
    if op.get_context().dialect.name == "postgresql":
        condition = f"tenant_id = {CURRENT}"
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING ({condition}) WITH CHECK ({condition})"
            )


def downgrade() -> None:
    for name in (
        "cordis_dismissals",
        "cordis_links",
        "cordis_loads",
        "cordis_participants_staging",
        "cordis_participants",
        "cordis_projects_staging",
        "cordis_projects",
    ):
        op.drop_table(name)
