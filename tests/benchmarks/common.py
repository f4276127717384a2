"""What the benchmark scripts share: a statement counter."""

from __future__ import annotations

import argparse
import os
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


def page_arguments(description: str) -> argparse.Namespace:
    """The page benchmarks' arguments: the owner URL picks the subject, the app
    URL (row-level security on) serves the pages."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--owner", required=True, help="owner URL (picks the subject)")
    parser.add_argument("--app", required=True, help="application-role URL (RLS applies)")
    parser.add_argument("-n", "--repeat", type=int, default=40)
    return parser.parse_args()


def print_pages(results) -> None:
    """(label, median, p95, statements) rows as the page benchmarks print them."""
    print(f"{'page':45} {'median ms':>10} {'p95 ms':>8} {'SQL statements':>15}")
    for label, median, p95, statements in results:
        shown = ", ".join(str(s) for s in statements)
        print(f"{label:45} {median:10.1f} {p95:8.1f} {shown:>15}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
