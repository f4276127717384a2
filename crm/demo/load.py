"""Bulk loading of generated rows: ``INSERT ... SELECT FROM unnest(arrays)`` on
PostgreSQL, Core executemany on SQLite.

Row-level security is respected: every association's rows are written in
their own transaction with ``app.tenant_id`` set (``crm.tenancy.set_database_tenant``),
so the app role (no BYPASSRLS) can load them. The ORM is bypassed on purpose:
no per-row audit events are written for demo data.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine

from crm.demo.generate import COLUMNS, TENANT_TABLE_ORDER, Batch
from crm.models import Base
from crm.tenancy import scope_of_user, set_database_tenant

SQLITE_BATCH = 2_000
PG_BATCH = 20_000
ID_BLOCK = 5_000
# Small tables with JSON columns: SQLAlchemy Core serialises them on both databases.
CORE_TABLES = {"audit_events"}


class Ids:
    """Hands out primary keys before the rows exist.

    PostgreSQL: blocks of ``nextval`` from the table's own sequence (the app
    role has USAGE on sequences), so ids never collide with later inserts.
    SQLite: counting up from the current maximum.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._free: dict[str, list[int]] = defaultdict(list)
        self._next: dict[str, int] = {}

    def next(self, table: str) -> int:
        if not self.postgres:
            if table not in self._next:
                with self.engine.connect() as connection:
                    current = connection.scalar(select(func.max(Base.metadata.tables[table].c.id)))
                self._next[table] = (current or 0) + 1
            value = self._next[table]
            self._next[table] = value + 1
            return value
        free = self._free[table]
        if not free:
            with self.engine.connect() as connection:
                free.extend(
                    reversed(
                        connection.scalars(
                            text(
                                "SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                                "FROM generate_series(1, :n)"
                            ),
                            {"t": table, "n": ID_BLOCK},
                        ).all()
                    )
                )
                connection.commit()
        return free.pop()


def write(connection: Connection, table: str, rows: list[tuple]) -> None:
    if not rows:
        return
    columns = COLUMNS[table]
    if connection.dialect.name == "postgresql" and table not in CORE_TABLES:
        _insert_unnest(connection, table, columns, rows)
        return
    statement = Base.metadata.tables[table].insert()
    for start in range(0, len(rows), SQLITE_BATCH):
        chunk = rows[start : start + SQLITE_BATCH]
        connection.execute(statement, [dict(zip(columns, row, strict=True)) for row in chunk])


def _insert_unnest(connection: Connection, table: str, columns, rows: list[tuple]) -> None:
    """``INSERT ... SELECT FROM unnest(<one array per column>)``, a chunk per statement.

    COPY would be faster still, but PostgreSQL refuses COPY FROM into tables
    whose row-level security applies to the role, and the app role never bypasses it.
    """
    target = Base.metadata.tables[table]
    dialect = connection.dialect
    arrays = ", ".join(f"%s::{target.c[name].type.compile(dialect=dialect)}[]" for name in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
    cursor = connection.connection.driver_connection.cursor()
    try:
        for start in range(0, len(rows), PG_BATCH):
            chunk = rows[start : start + PG_BATCH]
            cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])
    finally:
        cursor.close()


def load_tenant(engine: Engine, tenant_id: int, batch: Batch, counts: dict[str, int]) -> None:
    """Write one association's rows in one transaction, as that tenant (RLS)."""
    with engine.begin() as connection:
        set_database_tenant(connection, tenant_id)
        for table in [*TENANT_TABLE_ORDER, "audit_events"]:
            rows = batch.rows.get(table, [])
            write(connection, table, rows)
            counts[table] = counts.get(table, 0) + len(rows)


def load_shared(engine: Engine, batch: Batch, counts: dict[str, int]) -> None:
    """Tables outside row-level security (tenants: as the owner, who alone writes them)."""
    with engine.begin() as connection:
        for table, rows in batch.rows.items():
            write(connection, table, rows)
            counts[table] = counts.get(table, 0) + len(rows)


def load_users(engine: Engine, batch: Batch, counts: dict[str, int]) -> None:
    """Users, each in their own scope (row-level security): one transaction per
    association, and one for the alliance office's users."""
    tenant_at = COLUMNS["users"].index("tenant_id")
    by_scope: dict[int | None, list] = defaultdict(list)
    for row in batch.rows.get("users", []):
        by_scope[row[tenant_at]].append(row)
    for tenant_id, rows in by_scope.items():
        with engine.begin() as connection:
            set_database_tenant(connection, scope_of_user(tenant_id))
            write(connection, "users", rows)
        counts["users"] = counts.get("users", 0) + len(rows)
