"""Duplicates benchmark: the report, the new-member form's duplicate check and one
merge, on PostgreSQL at scale 1, as the secretariat of the largest association.

Not a test: a script that prints figures (server time from the WSGI call to the
last byte, SQL statements without the per-transaction ``set_config``).

    .venv/bin/python -m tests.benchmarks.duplicates \\
        --owner postgresql://postgres@127.0.0.1/crm_bench_dedupe \\
        --app postgresql://crm_app@127.0.0.1/crm_bench_dedupe [-n 10]

The database is a ``seed-demo --scale 1`` database migrated to head. The merge at
the end WRITES: it merges the report's first pair (use a throwaway database).
"""

from __future__ import annotations

import os
import statistics
import time

from sqlalchemy import create_engine, text

from tests.benchmarks.common import (
    LARGEST_ASSOCIATION,
    counted_statements,
    page_arguments,
    print_pages,
    secretariat_of,
    time_pages,
)
from tests.clients import client_as


def pick_subject(owner_url: str) -> dict:
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        tenant_id, slug, total = connection.execute(LARGEST_ASSOCIATION).one()
        user = secretariat_of(connection, tenant_id)
        name, city = connection.execute(
            text(
                "SELECT name, city FROM organisations WHERE tenant_id = :t AND city IS NOT NULL "
                "ORDER BY id LIMIT 1"
            ),
            {"t": tenant_id},
        ).one()
    engine.dispose()
    return {
        "tenant_id": tenant_id,
        "slug": slug,
        "total": total,
        "user_identity": f"{user.id}:{user.session_version}:{tenant_id}",
        "name": name,
        "city": city,
    }


def main() -> None:
    args = page_arguments(__doc__.splitlines()[0])
    subject = pick_subject(args.owner)
    from crm import create_app
    from crm.duplicates import queries
    from crm.extensions import db
    from crm.tenancy import tenant_scope

    app = create_app(
        {
            "ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": args.app,
            "SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
            "REDIS_URL": None,
            "WTF_CSRF_ENABLED": False,
        }
    )
    slug = subject["slug"]
    print(
        f"association {slug}: {subject['total']:,} current organisations; "
        f"{args.repeat} timed rounds after 3 warm-up rounds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    scenarios = [
        ("duplicates report, first page", f"/{slug}/duplicates"),
        ("duplicates report, page 5", f"/{slug}/duplicates?page=5"),
    ]
    with app.app_context():
        engine = db.engine
        client = client_as(app, subject["user_identity"])
        timings, statements = time_pages(client, engine, scenarios, args.repeat)
        results = []
        for label, _ in scenarios:
            times = sorted(timings[label])
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            results.append((label, statistics.median(times), p95, sorted(statements[label])))
        # The form's check: one statement for an organisation typed like an existing one.
        typed = {"name": subject["name"] + " SA", "city": subject["city"], "country": "FR"}
        check_times = []
        for _ in range(args.repeat):
            with tenant_scope(subject["tenant_id"]):
                start = time.perf_counter()
                found = queries.candidates(typed)
                check_times.append((time.perf_counter() - start) * 1000)
            db.session.rollback()
        check_times.sort()
        results.append(
            (
                f"new-member duplicate check ({len(found)} found)",
                statistics.median(check_times),
                check_times[int(round(0.95 * (len(check_times) - 1)))],
                [1],
            )
        )
        with tenant_scope(subject["tenant_id"]):
            pairs = queries.report_rows(1, 1)
            total = queries.report_count()
        db.session.rollback()
        print_pages(results)
        print(f"likely pairs in the association: {total:,}")
        if pairs:
            pair = pairs[0]
            with counted_statements(engine) as counter:
                start = time.perf_counter()
                response = client.post(
                    f"/{slug}/members/{pair.a_id}/merge", data={"other_id": pair.b_id}
                )
                elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 302, response.status_code
            print(
                f"merge of #{pair.b_id} into #{pair.a_id} ({', '.join(pair.reasons)}): "
                f"{elapsed:.0f} ms, {counter['n']} statements, one transaction"
            )
        db.session.remove()
        engine.dispose()


if __name__ == "__main__":
    main()
