"""What the benchmark scripts share: a statement counter, page timing, the subject to measure."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text


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


def time_pages(client, engine, scenarios, repeat: int, check=None):
    """Request each (label, path) once per round, ``repeat`` rounds after 3 warm-up
    rounds (round-robin, so a burst of load elsewhere falls on all pages alike);
    return each label's times in ms and its statement counts. ``check(label,
    response)`` may assert on a page."""
    timings = {label: [] for label, _ in scenarios}
    statements = {label: set() for label, _ in scenarios}
    with counted_statements(engine) as counter:
        for round_ in range(repeat + 3):
            for label, path in scenarios:
                counter["n"] = 0
                start = time.perf_counter()
                response = client.get(path)
                response.get_data()
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, (path, response.status_code)
                if check is not None:
                    check(label, response)
                if round_ >= 3:  # warm-up rounds are not counted
                    timings[label].append(elapsed)
                    statements[label].add(counter["n"])
    return timings, statements


# The association with the most current organisations: (id, slug, count).
LARGEST_ASSOCIATION = text(
    "SELECT t.id, t.slug, count(*) FROM organisations o JOIN tenants t "
    "ON t.id = o.tenant_id WHERE NOT o.archived GROUP BY t.id, t.slug "
    "ORDER BY count(*) DESC LIMIT 1"
)


def secretariat_of(connection, tenant_id: int):
    """The first secretariat user of an association: (id, session_version), to sign in as."""
    return connection.execute(
        text(
            "SELECT id, session_version FROM users WHERE tenant_id = :t "
            "AND role = 'secretariat' ORDER BY id LIMIT 1"
        ),
        {"t": tenant_id},
    ).one()
