"""Directory benchmark: server time and SQL statements per page, on PostgreSQL at scale 1.

Not a test (no ``test_`` prefix): a script that prints figures. It drives the
real app in-process (Flask test client, no network) as the secretariat of the
largest association, connected as the application role (row-level security
on), and times each request from the WSGI call to the last byte. The SQL
count leaves out the ``set_config('app.tenant_id', ...)`` of each transaction.

    .venv/bin/python -m tests.benchmarks.directory \\
        --owner postgresql://postgres@127.0.0.1/crm_bench_members \\
        --app postgresql://crm_app@127.0.0.1/crm_bench_members [-n 40]

The database is a ``seed-demo --scale 1`` database migrated to head (the
owner URL only picks the association, its user and realistic values).
"""

from __future__ import annotations

import os
import statistics

from sqlalchemy import create_engine, text

from tests.benchmarks.common import page_arguments, print_pages, time_pages
from tests.clients import client_as


def pick_subject(owner_url: str) -> dict:
    """The largest association, its secretariat user, its largest cluster, and
    realistic query values."""
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        tenant_id, slug, total = connection.execute(
            text(
                "SELECT t.id, t.slug, count(*) FROM organisations o JOIN tenants t "
                "ON t.id = o.tenant_id WHERE NOT o.archived GROUP BY t.id, t.slug "
                "ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        user = connection.execute(
            text(
                "SELECT id, session_version FROM users WHERE tenant_id = :t "
                "AND role = 'secretariat' ORDER BY id LIMIT 1"
            ),
            {"t": tenant_id},
        ).one()
        # A word from a name in the middle of the list, as someone would type it.
        name = connection.execute(
            text(
                "SELECT name FROM organisations WHERE tenant_id = :t AND kind = 'firm' "
                "ORDER BY id OFFSET (SELECT count(*) / 2 FROM organisations WHERE tenant_id = :t) "
                "LIMIT 1"
            ),
            {"t": tenant_id},
        ).scalar_one()
        region = connection.execute(
            text(
                "SELECT nuts2 FROM organisations WHERE tenant_id = :t AND nuts2 IS NOT NULL "
                "GROUP BY nuts2 ORDER BY count(*) DESC LIMIT 1"
            ),
            {"t": tenant_id},
        ).scalar_one()
        cluster = connection.execute(
            text(
                "SELECT cluster_id FROM cluster_memberships WHERE tenant_id = :t "
                "GROUP BY cluster_id ORDER BY count(*) DESC LIMIT 1"
            ),
            {"t": tenant_id},
        ).scalar_one()
    engine.dispose()
    word = max(name.split(), key=len)
    return {
        "tenant_id": tenant_id,
        "slug": slug,
        "total": total,
        "user_identity": f"{user.id}:{user.session_version}:{tenant_id}",
        "name": name,
        "word": word,
        "region": region,
        "cluster": cluster,
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
    slug, per_page = subject["slug"], app.config["PAGE_SIZE"]
    deep_page = max(1, int(subject["total"] / per_page * 0.9))
    typo = subject["word"][:-2] + subject["word"][-1] + subject["word"][-2]  # swap last two
    scenarios = [
        ("first page", f"/{slug}/members"),
        ("first page, 200 per page", f"/{slug}/members?per_page=200"),
        (
            "filtered page",
            f"/{slug}/members?kind=firm&status=active&region={subject['region'][:3]}",
        ),
        (f"deep page ({deep_page})", f"/{slug}/members?page={deep_page}"),
        ("deep page, sorted by city desc", f"/{slug}/members?sort=city&dir=desc&page={deep_page}"),
        (f"name search '{subject['word']}'", f"/{slug}/members?q={subject['word']}"),
        (f"typo search '{typo}' (closest names)", f"/{slug}/members?q={typo}"),
        ("dashboard", f"/{slug}/dashboard"),
        ("largest cluster's page", f"/{slug}/members/{subject['cluster']}"),
    ]
    results = []
    with app.app_context():
        engine = db.engine
        client = client_as(app, subject["user_identity"])

        def closest_names_shown(label, response):
            if "closest names" in label:
                assert b"these are the closest names" in response.data, label

        timings, statements = time_pages(client, engine, scenarios, repeat, closest_names_shown)
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
        f"association {subject['slug']}: {subject['total']:,} current organisations; "
        f"{args.repeat} timed rounds of requests after 3 warm-up rounds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print_pages(run(args.app, subject, args.repeat))


if __name__ == "__main__":
    main()
