"""What the benchmark scripts share: a statement counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def counted_statements(engine) -> Iterator[dict]:
    """Count the statements ``engine`` runs into ``counter["n"]`` (reset it per request).

    Each transaction's ``set_config('app.tenant_id', ...)`` (row-level security)
    is left out: it is not a query of the page.
    """
    counter = {"n": 0}

    def count(conn, cursor, statement, *args):
        if "set_config('app.tenant_id'" not in statement:
            counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)
