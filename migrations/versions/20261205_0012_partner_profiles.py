"""Partner profiles: the published copy of an organisation, the one table every
association may read (issue 11, alliance partner search).

* ``partner_profiles``: the fields an association consents to publish, a
  folded search text, and ``published_at``; its organisation through the
  composite key ``(tenant_id, organisation_id)`` (deleting the organisation
  deletes the profile).
* PostgreSQL: row-level security (ENABLE + FORCE) with a SELECT policy that
  lets the app role read every row (they are published to the whole alliance),
  and INSERT/UPDATE/DELETE policies that only touch the current tenant's rows.
  The read policy is ``USING (true)`` on purpose: any condition there (even
  one on ``app.tenant_id`` alone) is a security-barrier qual, and the
  search's LIKE and ``<%`` operators, not being leakproof, then cannot use the
  trigram index (a 0.6 s sequential scan at scale 1 instead of 30 ms). The
  application requires a tenant scope for every read (``crm.profiles.search``).
  A trigram GIN index on ``search_text`` (pg_trgm, migration 0004) serves the
  accent-free and typo-tolerant search.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
OWN = f"tenant_id = {CURRENT}"
POLICIES = {
    "profiles_read": "FOR SELECT USING (true)",
    "profiles_insert": f"FOR INSERT WITH CHECK ({OWN})",
    "profiles_update": f"FOR UPDATE USING ({OWN}) WITH CHECK ({OWN})",
    "profiles_delete": f"FOR DELETE USING ({OWN})",
}


def upgrade() -> None:
    op.create_table(
        "partner_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("nuts2", sa.String(length=4), nullable=True),
        sa.Column("region_name", sa.String(length=120), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("size_class", sa.String(length=10), nullable=True),
        sa.Column("nace", sa.String(length=8), nullable=True),
        sa.Column("nace_section", sa.String(length=1), nullable=True),
        sa.Column("website", sa.String(length=250), nullable=True),
        sa.Column("capabilities", sa.String(length=600), nullable=True),
        sa.Column("keywords", sa.String(length=300), nullable=True),
        sa.Column("ecosystem_codes", sa.String(length=600), nullable=False),
        sa.Column("programme_codes", sa.String(length=300), nullable=False),
        sa.Column("programmes", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_partner_profiles_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organisation_id"],
            ["organisations.tenant_id", "organisations.id"],
            name="fk_partner_profiles_tenant_id_organisation_id_organisations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_partner_profiles"),
        sa.UniqueConstraint(
            "tenant_id", "organisation_id", name="uq_partner_profiles_tenant_id_organisation_id"
        ),
    )
    op.create_index("ix_partner_profiles_name", "partner_profiles", ["name", "id"])
    op.create_index(
        "ix_partner_profiles_search",
        "partner_profiles",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE partner_profiles ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE partner_profiles FORCE ROW LEVEL SECURITY")
    for name, rule in POLICIES.items():
        op.execute(f"CREATE POLICY {name} ON partner_profiles {rule}")


def downgrade() -> None:
    op.drop_table("partner_profiles")  # its policies and indexes go with it
