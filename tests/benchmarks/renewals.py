"""Renewals benchmark: server time and SQL statements of the renewal lists, their
exports, the dashboard and the pages with a timeline, on PostgreSQL at scale 1.

Not a test (no ``test_`` prefix): a script that prints figures. It drives the
real app in-process (Flask test client, no network) as the secretariat of the
largest association, connected as the application role (row-level security
on), and times each request from the WSGI call to the last byte. The SQL
count leaves out the ``set_config('app.tenant_id', ...)`` of each transaction.

    .venv/bin/python -m tests.benchmarks.renewals \\
        --owner postgresql://postgres@127.0.0.1/crm_bench_renewals \\
        --app postgresql://crm_app@127.0.0.1/crm_bench_renewals [-n 40]

The database is a ``seed-demo --scale 1`` database migrated to head (the demo
records each active member's last payment).
"""

from __future__ import annotations

import os
import statistics

from sqlalchemy import create_engine, text

from tests.benchmarks.common import page_arguments, print_pages, secretariat_of, time_pages
from tests.clients import client_as


def pick_subject(owner_url: str) -> dict:
    """The largest association, its secretariat user, the list sizes' context, a
    paying member and one of its contacts."""
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        tenant_id, slug, memberships = connection.execute(
            text(
                "SELECT t.id, t.slug, count(*) FROM association_memberships m JOIN tenants t "
                "ON t.id = m.tenant_id GROUP BY t.id, t.slug ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        user = secretariat_of(connection, tenant_id)
        org_id, contact_id = connection.execute(
            text(
                "SELECT m.organisation_id, c.id FROM payments p "
                "JOIN association_memberships m ON m.tenant_id = p.tenant_id "
                "AND m.id = p.membership_id JOIN contacts c ON c.tenant_id = m.tenant_id "
                "AND c.organisation_id = m.organisation_id WHERE p.tenant_id = :t "
                "ORDER BY p.id LIMIT 1"
            ),
            {"t": tenant_id},
        ).one()
        payments = connection.execute(
            text("SELECT count(*) FROM payments WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
    engine.dispose()
    return {
        "tenant_id": tenant_id,
        "slug": slug,
        "memberships": memberships,
        "payments": payments,
        "user_identity": f"{user.id}:{user.session_version}:{tenant_id}",
        "org_id": org_id,
        "contact_id": contact_id,
    }


def run(app_url: str, subject: dict, repeat: int) -> list[tuple]:
    from crm import create_app
    from crm.extensions import db

    app = create_app(
        {
            "ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": app_url,
            "SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
            "REDIS_URL": None,
        }
    )
    t = f"/{subject['slug']}"
    scenarios = [
        ("overdue: first page", f"{t}/renewals"),
        ("overdue: page 5", f"{t}/renewals?page=5"),
        ("due within 30 days", f"{t}/renewals?list=due"),
        ("due within 366 days: page 10", f"{t}/renewals?list=due&days=366&page=10"),
        ("lapsed", f"{t}/renewals?list=lapsed"),
        ("applicants", f"{t}/renewals?list=applicants"),
        ("export CSV: overdue", f"{t}/renewals/export.csv?list=overdue"),
        ("export XLSX: due within 30 days", f"{t}/renewals/export.xlsx?list=due"),
        ("export CSV: payments of 2026", f"{t}/payments/export.csv?year=2026"),
        ("dashboard", f"{t}/dashboard"),
        ("organisation page (payments, timeline)", f"{t}/members/{subject['org_id']}"),
        ("contact page (timeline)", f"{t}/contacts/{subject['contact_id']}"),
    ]
    results = []
    with app.app_context():
        engine = db.engine
        client = client_as(app, subject["user_identity"])
        timings, statements = time_pages(client, engine, scenarios, repeat)
        for label, _ in scenarios:
            times = sorted(timings[label])
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            results.append((label, statistics.median(times), p95, sorted(statements[label])))
        db.session.remove()
        engine.dispose()
    return results


def main() -> None:
    args = page_arguments(__doc__.splitlines()[0])
    subject = pick_subject(args.owner)
    print(
        f"association {subject['slug']}: {subject['memberships']:,} memberships, "
        f"{subject['payments']:,} payments; {args.repeat} timed rounds after 3 warm-up "
        f"rounds; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print_pages(run(args.app, subject, args.repeat))


if __name__ == "__main__":
    main()
