"""Postal addresses of organisations, and "merged into" for merged duplicates.

``street`` and ``postcode`` join ``city`` and ``country``. ``merged_into_id``
names the survivor an organisation was merged into (``crm.merge``); the
composite foreign key ``(tenant_id, merged_into_id)`` keeps it within the
association, and an organisation is never merged into itself.

SQLite cannot add a table constraint to an existing table, and batch mode
cannot be used (it reflects the table, and SQLite cannot reflect the
expression indexes of 0004): the table is rebuilt from its own stored
``CREATE`` statement with SQLite's documented twelve-step procedure, its
indexes re-created from their stored statements. Foreign keys are not
enforced on the migration's connection (no ``PRAGMA foreign_keys``), so
dropping the old copy deletes nothing that refers to it.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_organisations_tenant_id_merged_into_id_organisations"
CHECK = "ck_organisations_not_merged_into_itself"
INDEX = "ix_organisations_tenant_merged_into"
SQLITE_CONSTRAINTS = (
    f"CONSTRAINT {FK} FOREIGN KEY(tenant_id, merged_into_id) "
    "REFERENCES organisations (tenant_id, id)",
    f"CONSTRAINT {CHECK} CHECK (merged_into_id <> id)",
)


def _rebuild_sqlite(edit: Callable[[str], str]) -> None:
    """Re-create ``organisations`` from its stored CREATE statement as ``edit`` changes it."""
    bind = op.get_bind()
    create = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'organisations'"
    ).scalar_one()
    indexes = (
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'organisations' "
            "AND sql IS NOT NULL"
        )
        .scalars()
        .all()
    )
    head, rest = create.split("(", 1)
    # After a rename SQLite stores the name quoted: CREATE TABLE "organisations".
    assert head.replace('"', "").strip().lower() == "create table organisations", head
    bind.exec_driver_sql(edit("CREATE TABLE organisations_rebuilt (" + rest))
    bind.exec_driver_sql("INSERT INTO organisations_rebuilt SELECT * FROM organisations")
    bind.exec_driver_sql("DROP TABLE organisations")
    bind.exec_driver_sql("ALTER TABLE organisations_rebuilt RENAME TO organisations")
    for statement in indexes:
        bind.exec_driver_sql(statement)


def _with_constraints(create: str) -> str:
    body = create.rstrip().removesuffix(")").rstrip()
    return body + ",\n\t" + ",\n\t".join(SQLITE_CONSTRAINTS) + "\n)"


def _without_constraints(create: str) -> str:
    for constraint in SQLITE_CONSTRAINTS:
        create = create.replace(",\n\t" + constraint, "")
    return create


def upgrade() -> None:
    op.add_column("organisations", sa.Column("street", sa.String(length=200), nullable=True))
    op.add_column("organisations", sa.Column("postcode", sa.String(length=20), nullable=True))
    op.add_column("organisations", sa.Column("merged_into_id", sa.Integer(), nullable=True))
    if op.get_context().dialect.name == "sqlite":
        _rebuild_sqlite(_with_constraints)
    else:
        op.create_foreign_key(
            FK,
            "organisations",
            "organisations",
            ["tenant_id", "merged_into_id"],
            ["tenant_id", "id"],
        )
        op.create_check_constraint(CHECK, "organisations", "merged_into_id <> id")
    # The survivor's page lists what was merged into it; re-pointing finds earlier merges.
    op.create_index(
        INDEX,
        "organisations",
        ["tenant_id", "merged_into_id"],
        postgresql_where=sa.text("merged_into_id IS NOT NULL"),
        sqlite_where=sa.text("merged_into_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="organisations")
    if op.get_context().dialect.name == "sqlite":
        _rebuild_sqlite(_without_constraints)
    else:
        op.drop_constraint(CHECK, "organisations", type_="check")
        op.drop_constraint(FK, "organisations", type_="foreignkey")
    for column in ("merged_into_id", "postcode", "street"):
        op.drop_column("organisations", column)
