"""Saved segments, tags on organisations and contacts, a contact's role.

* ``segments``: a list's filters (query arguments, JSON) under a name, shared
  within the association.
* ``tags``, ``organisation_tags``, ``contact_tags``: the association's tags and
  their links; every key leads with tenant_id (composite foreign keys), so a
  tag never links another association's row.
* ``contacts.role``: what the person does, from a fixed list (the directory's
  "organisations with a contact of this role" filter), with the index the
  EXISTS reads, and ``ix_contacts_tenant_name`` for the contacts list's order.

Row-level security on the four new tables, as in 0003 and 0016.

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"
NEW_TABLES = ("segments", "tags", "organisation_tags", "contact_tags")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _links(name: str, target: str, column: str) -> None:
    op.create_table(
        name,
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column(column, sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tag_id"],
            ["tags.tenant_id", "tags.id"],
            name=op.f(f"fk_{name}_tenant_id_tags"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", column],
            [f"{target}.tenant_id", f"{target}.id"],
            name=op.f(f"fk_{name}_tenant_id_{target}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "tag_id", column, name=op.f(f"pk_{name}")),
    )
    op.create_index(f"ix_{name}_tenant_{column}", name, ["tenant_id", column])


def upgrade() -> None:
    op.add_column("contacts", sa.Column("role", sa.String(length=30), nullable=True))
    op.create_index("ix_contacts_tenant_role", "contacts", ["tenant_id", "role", "organisation_id"])
    # The contacts list: its order, total and search from the index alone (INCLUDE:
    # the organisation for the organisation filters, the role filter, the e-mail searched).
    op.create_index(
        "ix_contacts_tenant_name",
        "contacts",
        ["tenant_id", "last_name", "first_name", "id"],
        postgresql_include=["organisation_id", "role", "email"],
        postgresql_where=sa.text("erased_at IS NULL"),
        sqlite_where=sa.text("erased_at IS NULL"),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_segments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        _tenant_fk("segments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_segments_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_segments_tenant_id_name")),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        *_timestamps(),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant_fk("tags"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_tags_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_tags_tenant_id_name")),
    )
    _links("organisation_tags", "organisations", "organisation_id")
    _links("contact_tags", "contacts", "contact_id")
    if op.get_context().dialect.name == "postgresql":
        condition = f"tenant_id = {CURRENT}"
        for table in NEW_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING ({condition}) WITH CHECK ({condition})"
            )


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)  # indexes and policies go with it
    op.drop_index("ix_contacts_tenant_name", table_name="contacts")
    op.drop_index("ix_contacts_tenant_role", table_name="contacts")
    op.drop_column("contacts", "role")
