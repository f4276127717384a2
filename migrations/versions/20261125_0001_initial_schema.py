"""Initial schema: tenants, users, organisations, memberships, contacts, projects, audit, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 05:40:36.301034
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ecosystems",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ecosystems")),
        sa.UniqueConstraint("code", name=op.f("uq_ecosystems_code")),
    )
    op.create_table(
        "flagship_areas",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flagship_areas")),
        sa.UniqueConstraint("code", name=op.f("uq_flagship_areas_code")),
    )
    op.create_table(
        "programmes",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_programmes")),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_name", sa.String(length=250), nullable=True),
        sa.Column("registration_id", sa.String(length=40), nullable=True),
        sa.Column("vat_id", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("nuts2", sa.String(length=4), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("website", sa.String(length=250), nullable=True),
        sa.Column("nace", sa.String(length=8), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("turnover_eur", sa.BigInteger(), nullable=True),
        sa.Column("balance_sheet_eur", sa.BigInteger(), nullable=True),
        sa.Column("size_class", sa.String(length=10), nullable=True),
        sa.Column("is_startup", sa.Boolean(), nullable=False),
        sa.Column("founded_year", sa.SmallInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("discoverable", sa.Boolean(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_organisations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_organisations_tenant_id_id")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_organisations_tenant_kind_name", ["tenant_id", "kind", "name"], unique=False
        )
        batch_op.create_index("ix_organisations_tenant_name", ["tenant_id", "name"], unique=False)
        batch_op.create_index(
            "ix_organisations_tenant_region", ["tenant_id", "nuts2"], unique=False
        )
        batch_op.create_index(
            "ix_organisations_tenant_registration", ["tenant_id", "registration_id"], unique=False
        )
        batch_op.create_index(
            "ix_organisations_tenant_size", ["tenant_id", "size_class"], unique=False
        )

    op.create_table(
        "association_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("fee_tier", sa.String(length=12), nullable=True),
        sa.Column("paid_until", sa.Date(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organisation_id"],
            ["organisations.tenant_id", "organisations.id"],
            name=op.f("fk_association_memberships_tenant_id_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_association_memberships_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_association_memberships")),
        sa.UniqueConstraint(
            "tenant_id", "id", name=op.f("uq_association_memberships_tenant_id_id")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "organisation_id",
            name=op.f("uq_association_memberships_tenant_id_organisation_id"),
        ),
    )
    with op.batch_alter_table("association_memberships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_association_memberships_tenant_paid_until",
            ["tenant_id", "paid_until"],
            unique=False,
        )
        batch_op.create_index(
            "ix_association_memberships_tenant_status", ["tenant_id", "status"], unique=False
        )

    op.create_table(
        "cluster_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "cluster_id <> member_id", name=op.f("ck_cluster_memberships_not_own_member")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "cluster_id"],
            ["organisations.tenant_id", "organisations.id"],
            name=op.f("fk_cluster_memberships_tenant_id_cluster_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            ["organisations.tenant_id", "organisations.id"],
            name=op.f("fk_cluster_memberships_tenant_id_member_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_cluster_memberships_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_memberships")),
        sa.UniqueConstraint(
            "tenant_id",
            "cluster_id",
            "member_id",
            name=op.f("uq_cluster_memberships_tenant_id_cluster_id_member_id"),
        ),
    )
    with op.batch_alter_table("cluster_memberships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cluster_memberships_tenant_member", ["tenant_id", "member_id"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("job_title", sa.String(length=120), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("consent_given", sa.Boolean(), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=True),
        sa.Column("consent_source", sa.String(length=20), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organisation_id"],
            ["organisations.tenant_id", "organisations.id"],
            name=op.f("fk_contacts_tenant_id_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_contacts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_contacts_tenant_id_id")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_tenant_email", ["tenant_id", "email"], unique=False)
        batch_op.create_index(
            "ix_contacts_tenant_organisation", ["tenant_id", "organisation_id"], unique=False
        )
        batch_op.create_index(
            "uq_contacts_one_primary",
            ["tenant_id", "organisation_id"],
            unique=True,
            sqlite_where=sa.text("is_primary"),
            postgresql_where=sa.text("is_primary"),
        )

    op.create_table(
        "organisation_ecosystems",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("ecosystem_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ecosystem_id"],
            ["ecosystems.id"],
            name=op.f("fk_organisation_ecosystems_ecosystem_id_ecosystems"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organisation_id"],
            ["organisations.tenant_id", "organisations.id"],
            name=op.f("fk_organisation_ecosystems_tenant_id_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_organisation_ecosystems_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "organisation_id", "ecosystem_id", name=op.f("pk_organisation_ecosystems")
        ),
    )
    with op.batch_alter_table("organisation_ecosystems", schema=None) as batch_op:
        batch_op.create_index(
            "ix_organisation_ecosystems_tenant_ecosystem",
            ["tenant_id", "ecosystem_id"],
            unique=False,
        )

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_code", sa.String(length=20), nullable=False),
        sa.Column("call_id", sa.String(length=80), nullable=True),
        sa.Column("grant_number", sa.String(length=40), nullable=True),
        sa.Column("grant_key", sa.String(length=40), nullable=True),
        sa.Column("acronym", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("total_budget", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("eu_contribution", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_code"],
            ["programmes.code"],
            name=op.f("fk_projects_programme_code_programmes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "cluster_id"],
            ["organisations.tenant_id", "organisations.id"],
            name=op.f("fk_projects_tenant_id_cluster_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_projects_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_projects_tenant_id_id")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_projects_grant_key", ["programme_code", "grant_key"], unique=False
        )
        batch_op.create_index(
            "ix_projects_tenant_cluster", ["tenant_id", "cluster_id"], unique=False
        )
        batch_op.create_index(
            "ix_projects_tenant_programme", ["tenant_id", "programme_code"], unique=False
        )
        batch_op.create_index("ix_projects_tenant_status", ["tenant_id", "status"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "cluster_id"],
            ["organisations.tenant_id", "organisations.id"],
            name=op.f("fk_users_tenant_id_cluster_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_users_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_tenant", ["tenant_id"], unique=False)
    # E-mail is unique alliance-wide, whatever its case.
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=True),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.String(length=300), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_audit_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_events_tenant_created", ["tenant_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_events_tenant_entity", ["tenant_id", "entity_type", "entity_id"], unique=False
        )

    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("rq_job_id", sa.String(length=64), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_job_runs_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_job_runs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_job_runs_tenant_kind_created", ["tenant_id", "kind", "created_at"], unique=False
        )

    op.create_table(
        "membership_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_membership_status_changes_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["association_memberships.tenant_id", "association_memberships.id"],
            name=op.f(
                "fk_membership_status_changes_tenant_id_membership_id_association_memberships"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_membership_status_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_status_changes")),
    )
    with op.batch_alter_table("membership_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_membership_status_changes_tenant_effective",
            ["tenant_id", "effective_on"],
            unique=False,
        )
        batch_op.create_index(
            "ix_membership_status_changes_tenant_membership",
            ["tenant_id", "membership_id"],
            unique=False,
        )

    op.create_table(
        "participations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("budget_share", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("logged_by_id", sa.Integer(), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["logged_by_id"],
            ["users.id"],
            name=op.f("fk_participations_logged_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organisation_id"],
            ["organisations.tenant_id", "organisations.id"],
            name=op.f("fk_participations_tenant_id_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["projects.tenant_id", "projects.id"],
            name=op.f("fk_participations_tenant_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_participations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participations")),
        sa.UniqueConstraint(
            "tenant_id",
            "project_id",
            "organisation_id",
            name=op.f("uq_participations_tenant_id_project_id_organisation_id"),
        ),
    )
    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_participations_tenant_organisation", ["tenant_id", "organisation_id"], unique=False
        )

    op.create_table(
        "project_ecosystems",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("ecosystem_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ecosystem_id"],
            ["ecosystems.id"],
            name=op.f("fk_project_ecosystems_ecosystem_id_ecosystems"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["projects.tenant_id", "projects.id"],
            name=op.f("fk_project_ecosystems_tenant_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_project_ecosystems_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "ecosystem_id", name=op.f("pk_project_ecosystems")
        ),
    )
    with op.batch_alter_table("project_ecosystems", schema=None) as batch_op:
        batch_op.create_index(
            "ix_project_ecosystems_tenant_ecosystem_id", ["tenant_id", "ecosystem_id"], unique=False
        )

    op.create_table(
        "project_flagships",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("flagship_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flagship_id"],
            ["flagship_areas.id"],
            name=op.f("fk_project_flagships_flagship_id_flagship_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["projects.tenant_id", "projects.id"],
            name=op.f("fk_project_flagships_tenant_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_project_flagships_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "flagship_id", name=op.f("pk_project_flagships")
        ),
    )
    with op.batch_alter_table("project_flagships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_project_flagships_tenant_flagship_id", ["tenant_id", "flagship_id"], unique=False
        )

    op.create_table(
        "project_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_project_status_changes_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["projects.tenant_id", "projects.id"],
            name=op.f("fk_project_status_changes_tenant_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_project_status_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_status_changes")),
    )
    with op.batch_alter_table("project_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_project_status_changes_tenant_project", ["tenant_id", "project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("project_status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_project_status_changes_tenant_project")

    op.drop_table("project_status_changes")
    with op.batch_alter_table("project_flagships", schema=None) as batch_op:
        batch_op.drop_index("ix_project_flagships_tenant_flagship_id")

    op.drop_table("project_flagships")
    with op.batch_alter_table("project_ecosystems", schema=None) as batch_op:
        batch_op.drop_index("ix_project_ecosystems_tenant_ecosystem_id")

    op.drop_table("project_ecosystems")
    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.drop_index("ix_participations_tenant_organisation")

    op.drop_table("participations")
    with op.batch_alter_table("membership_status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_membership_status_changes_tenant_membership")
        batch_op.drop_index("ix_membership_status_changes_tenant_effective")

    op.drop_table("membership_status_changes")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_tenant_kind_created")

    op.drop_table("job_runs")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_tenant_entity")
        batch_op.drop_index("ix_audit_events_tenant_created")

    op.drop_table("audit_events")
    op.drop_index("uq_users_email_lower", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_tenant")

    op.drop_table("users")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_tenant_status")
        batch_op.drop_index("ix_projects_tenant_programme")
        batch_op.drop_index("ix_projects_tenant_cluster")
        batch_op.drop_index("ix_projects_grant_key")

    op.drop_table("projects")
    with op.batch_alter_table("organisation_ecosystems", schema=None) as batch_op:
        batch_op.drop_index("ix_organisation_ecosystems_tenant_ecosystem")

    op.drop_table("organisation_ecosystems")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_contacts_one_primary",
            sqlite_where=sa.text("is_primary"),
            postgresql_where=sa.text("is_primary"),
        )
        batch_op.drop_index("ix_contacts_tenant_organisation")
        batch_op.drop_index("ix_contacts_tenant_email")

    op.drop_table("contacts")
    with op.batch_alter_table("cluster_memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_cluster_memberships_tenant_member")

    op.drop_table("cluster_memberships")
    with op.batch_alter_table("association_memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_association_memberships_tenant_status")
        batch_op.drop_index("ix_association_memberships_tenant_paid_until")

    op.drop_table("association_memberships")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index("ix_organisations_tenant_size")
        batch_op.drop_index("ix_organisations_tenant_registration")
        batch_op.drop_index("ix_organisations_tenant_region")
        batch_op.drop_index("ix_organisations_tenant_name")
        batch_op.drop_index("ix_organisations_tenant_kind_name")

    op.drop_table("organisations")
    op.drop_table("tenants")
    op.drop_table("programmes")
    op.drop_table("flagship_areas")
    op.drop_table("ecosystems")
