"""Set-based writers of an import: chunked multi-row INSERTs and UPDATE ... FROM
unnest(), with the shared values (tenant, timestamps) added chunk by chunk."""

from __future__ import annotations

from sqlalchemy import String, Text, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from crm.i18n import _
from crm.imports.plan import Progress
from crm.models import Tenant

# Rows per statement: few round trips, and a bounded statement size.
CHUNK = 5000


def bulk_insert(
    session,
    table,
    records: list[dict],
    progress: Progress,
    start=10,
    end=80,
    common: dict | None = None,
):
    """INSERT in chunks: on PostgreSQL one ``INSERT ... SELECT FROM unnest(arrays)`` per
    chunk (a column a parameter), elsewhere an executemany; no ORM, no statement per row.

    ``common`` holds the values every row shares (tenant, timestamps), added chunk by
    chunk so that a large import does not hold a second copy of every record.
    """
    if not records:
        return
    common = common or {}
    connection = session.connection()
    columns = list(common | records[0])
    arrays = connection.dialect.name == "postgresql"
    if arrays:
        rows = _unnest(table, columns)
        statement = insert(table).from_select(
            [table.c[c] for c in columns], select(*[rows.c[c] for c in columns])
        )
    for i in range(0, len(records), CHUNK):
        chunk = [common | r for r in records[i : i + CHUNK]]
        if arrays:
            connection.execute(statement, _column_arrays(columns, chunk))
        else:
            connection.execute(insert(table), chunk)
        progress(
            start + (end - start) * min(len(records), i + CHUNK) // len(records),
            _("writing %(table)s", table=table.name),
        )


def bulk_update(
    session, table, tenant: Tenant, records: list[dict], common: dict | None = None
) -> None:
    """UPDATE the tenant's rows ``b_id`` in chunks: on PostgreSQL one
    ``UPDATE ... FROM unnest(arrays)`` per chunk, elsewhere an executemany.
    ``common``: values set on every row (as for ``bulk_insert``)."""
    if not records:
        return
    common = common or {}
    connection = session.connection()
    columns = [k for k in common | records[0] if k != "b_id"]
    if connection.dialect.name == "postgresql":
        rows = _unnest(table, ["b_id", *columns])
        statement = (
            update(table)
            .where(table.c.tenant_id == tenant.id, table.c.id == rows.c.b_id)
            .values({table.c[c]: rows.c[c] for c in columns})
        )
        for i in range(0, len(records), CHUNK):
            chunk = [common | r for r in records[i : i + CHUNK]]
            connection.execute(statement, _column_arrays(["b_id", *columns], chunk))
        return
    statement = (
        update(table)
        .where(table.c.tenant_id == tenant.id, table.c.id == bindparam("b_id"))
        .values({c: bindparam(f"v_{c}") for c in columns})
    )
    for i in range(0, len(records), CHUNK):
        chunk = [common | r for r in records[i : i + CHUNK]]
        params = [{"b_id": r["b_id"], **{f"v_{c}": r[c] for c in columns}} for r in chunk]
        connection.execute(statement, params)


def _unnest(table, columns: list[str]):
    """``unnest(CAST(:a_x AS type[]), ...) AS v(x, ...)``: one array parameter a column,
    typed from the table (``b_id`` as the id). Text goes as TEXT: a cast to VARCHAR(n)
    would cut a longer value short in silence, where storing it in the column refuses it.
    """

    def element(column: str):
        kind = table.c["id" if column == "b_id" else column].type
        return Text() if isinstance(kind, String) else kind

    arrays = [cast(bindparam(f"a_{c}"), ARRAY(element(c))) for c in columns]
    return func.unnest(*arrays).table_valued(*columns).render_derived(name="v")


def _column_arrays(columns: list[str], records: list[dict]) -> dict[str, list]:
    return {f"a_{c}": [r[c] for r in records] for c in columns}
