"""Directory benchmark: server time and SQL statements per page, on PostgreSQL, at one
scale or two (then the ratio of each page's time).

Not a test (no ``test_`` prefix): a script that prints figures. It drives the
real app in-process (Flask test client, no network) as the secretariat of the
largest association, connected as the application role (row-level security
on), and times each request from the WSGI call to the last byte. The SQL
count leaves out the ``set_config('app.tenant_id', ...)`` of each transaction.
"db ms" is the database's own time: the median over ``-n`` runs of the summed
``EXPLAIN (ANALYZE)`` execution times of the page's statements on organisations
(as the app role, the association's tenant set), less noisy on a shared machine.

    .venv/bin/python -m tests.benchmarks.directory \\
        --owner postgresql://postgres@127.0.0.1/crm_bench_members \\
        --app postgresql://crm_app@127.0.0.1/crm_bench_members [-n 40] \\
        [--against OWNER_URL APP_URL]   # a larger scale: prints both and the ratio

The databases are ``seed-demo --scale N`` databases migrated to head (the
owner URL only picks the association, its user and realistic values).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from contextlib import ExitStack

from sqlalchemy import create_engine, event, text

from crm.folding import fold
from tests.benchmarks.common import LARGEST_ASSOCIATION, counted_statements, secretariat_of
from tests.clients import client_as


def pick_subject(owner_url: str) -> dict:
    """The largest association, its secretariat user, its largest cluster, and
    realistic query values."""
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        tenant_id, slug, total = connection.execute(LARGEST_ASSOCIATION).one()
        user = secretariat_of(connection, tenant_id)
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
        # Keyset cursors 90 % down the list (a deep page, as Next links reach it).
        deep = {
            order: connection.execute(
                text(
                    "SELECT id FROM organisations WHERE tenant_id = :t AND NOT archived "
                    f"AND NOT is_external ORDER BY {order} "
                    "OFFSET (SELECT count(*) * 9 / 10 FROM organisations WHERE tenant_id = :t "
                    "AND NOT archived AND NOT is_external) LIMIT 1"
                ),
                {"t": tenant_id},
            ).scalar_one()
            for order in (
                "lower(name), id",
                "lower(city) DESC NULLS FIRST, id DESC",
            )
        }
        # A word with accents from a name further on, typed without them ("Pérez" as "perez").
        accented = connection.execute(
            text(
                "SELECT name FROM organisations WHERE tenant_id = :t AND kind = 'firm' "
                "AND name ~ '[^[:ascii:]]' ORDER BY id "
                "OFFSET (SELECT count(*) / 3 FROM organisations WHERE tenant_id = :t) LIMIT 1"
            ),
            {"t": tenant_id},
        ).scalar_one()
    engine.dispose()
    word = max(name.split(), key=len)
    accented_word = max(
        (w for w in accented.split() if not w.isascii()), key=len, default=accented.split()[0]
    )
    return {
        "tenant_id": tenant_id,
        "slug": slug,
        "total": total,
        "user_identity": f"{user.id}:{user.session_version}:{tenant_id}",
        "name": name,
        "word": word,
        "accent_free": fold(accented_word),
        "region": region,
        "cluster": cluster,
        "deep_by_name": deep["lower(name), id"],
        "deep_by_city_desc": deep["lower(city) DESC NULLS FIRST, id DESC"],
    }


def scenarios(subject: dict) -> list[tuple[str, str]]:
    slug = subject["slug"]
    typo = subject["word"][:-2] + subject["word"][-1] + subject["word"][-2]  # swap last two
    return [
        ("first page", f"/{slug}/members"),
        ("first page, 200 per page", f"/{slug}/members?per_page=200"),
        (
            "filtered page",
            f"/{slug}/members?kind=firm&status=active&region={subject['region'][:3]}",
        ),
        ("deep page (Next link, 90 % down)", f"/{slug}/members?after={subject['deep_by_name']}"),
        (
            "deep page, sorted by city desc",
            f"/{slug}/members?sort=city&dir=desc&after={subject['deep_by_city_desc']}",
        ),
        ("last page", f"/{slug}/members?last=1"),
        ("name search", f"/{slug}/members?q={subject['word']}"),
        ("typo search (closest names)", f"/{slug}/members?q={typo}"),
        ("accent-free search", f"/{slug}/members?q={subject['accent_free']}"),
        ("suggestions (JSON)", f"/{slug}/members/suggestions?q={subject['accent_free'][:4]}"),
        ("dashboard", f"/{slug}/dashboard"),
        ("largest cluster's page", f"/{slug}/members/{subject['cluster']}"),
    ]


def run(sides: list[tuple[str, dict]], repeat: int) -> list[list[tuple]]:
    """Each side (app URL, subject) gets the same pages; the requests alternate
    between the sides page by page, round by round, so a burst of load from
    elsewhere falls on every scale alike. Per side, per page: (label, median ms,
    p95 ms, db ms, statement counts)."""
    from crm import create_app
    from crm.extensions import db

    runs = []
    for app_url, subject in sides:
        app = create_app(
            {
                "ENV": "testing",
                "SQLALCHEMY_DATABASE_URI": app_url,
                "SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
                "REDIS_URL": None,
            }
        )
        with app.app_context():
            engine = db.engine
        runs.append((app, engine, client_as(app, subject["user_identity"]), subject))
    pages = [scenarios(subject) for *_, subject in runs]
    timings = [{label: [] for label, _ in pages[0]} for _ in runs]
    statements = [{label: set() for label, _ in pages[0]} for _ in runs]
    with ExitStack() as stack:
        counters = [stack.enter_context(counted_statements(engine)) for _, engine, *_ in runs]
        for round_ in range(repeat + 3):  # 3 warm-up rounds, not counted
            for i, (label, _) in enumerate(pages[0]):
                for side, (app, _, client, _) in enumerate(runs):
                    counters[side]["n"] = 0
                    with app.app_context():
                        start = time.perf_counter()
                        response = client.get(pages[side][i][1])
                        response.get_data()
                        elapsed = (time.perf_counter() - start) * 1000
                    assert response.status_code == 200, (label, response.status_code)
                    if "closest names" in label:
                        assert b'id="closest-names"' in response.data, label
                    if round_ >= 3:
                        timings[side][label].append(elapsed)
                        statements[side][label].add(counters[side]["n"])
    results = []
    for side, (app, engine, client, subject) in enumerate(runs):
        rows = []
        with app.app_context():
            for label, path in pages[side]:
                times = sorted(timings[side][label])
                p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
                database = database_ms(app, client, engine, path, subject["tenant_id"], repeat)
                median = statistics.median(times)
                rows.append((label, median, p95, database, sorted(statements[side][label])))
            db.session.remove()
        engine.dispose()
        results.append(rows)
    return results


def database_ms(app, client, engine, path: str, tenant_id: int, repeat: int) -> float:
    """The median over ``repeat`` runs of the summed EXPLAIN ANALYZE execution time of
    the statements on organisations that one request of ``path`` runs."""
    from crm.extensions import db
    from crm.tenancy import sync_database_tenant, tenant_scope

    captured = []

    def capture(conn, cursor, statement, parameters, *args):
        if "organisations" in statement and statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get(path).get_data()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    runs = []
    with tenant_scope(tenant_id):
        sync_database_tenant(db.session)
        connection = db.session.connection()
        for _ in range(repeat):
            total = 0.0
            for statement, parameters in captured:
                plan = connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
                ).scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                total += plan[0]["Execution Time"]
            runs.append(total)
    db.session.rollback()
    return statistics.median(runs)


def print_side(subject: dict, repeat: int, rows: list[tuple]) -> None:
    print(
        f"\nassociation {subject['slug']}: {subject['total']:,} current organisations; "
        f"search '{subject['word']}', accent-free '{subject['accent_free']}'; "
        f"{repeat} timed rounds after 3 warm-up rounds"
    )
    print(f"{'page':38} {'median ms':>10} {'p95 ms':>8} {'db ms':>7} {'SQL statements':>15}")
    for label, median, p95, database, statements in rows:
        shown = ", ".join(str(s) for s in statements)
        print(f"{label:38} {median:10.1f} {p95:8.1f} {database:7.1f} {shown:>15}")


def shared_word(small: dict, owner_small: str, owner_large: str) -> str:
    """A search word of the smaller database's middle names that the larger one's
    association also holds, in a few names (so both runs find something)."""
    found = small["word"]
    engines = create_engine(owner_small), create_engine(owner_large)
    with engines[0].connect() as a, engines[1].connect() as b:
        tenant = b.execute(
            text("SELECT id FROM tenants WHERE slug = :s"), {"s": small["slug"]}
        ).scalar_one()
        names = a.execute(
            text(
                "SELECT name FROM organisations WHERE tenant_id = :t AND kind = 'firm' "
                "ORDER BY id OFFSET (SELECT count(*) / 2 FROM organisations WHERE tenant_id = :t) "
                "LIMIT 200"
            ),
            {"t": small["tenant_id"]},
        ).scalars()

        def count(connection, tenant_id, word):
            return connection.execute(
                text(
                    "SELECT count(*) FROM organisations WHERE tenant_id = :t AND NOT archived "
                    "AND (lower(name) LIKE :w OR lower(city) LIKE :p "
                    "OR lower(registration_id) LIKE :p)"
                ),
                {"t": tenant_id, "w": f"%{word.lower()}%", "p": f"{word.lower()}%"},
            ).scalar_one()

        def close(connection, tenant_id, typo):
            """Whether the typo has closest names (as crm.members.queries._closest)."""
            return connection.execute(
                text(
                    "SELECT EXISTS (SELECT FROM organisations WHERE tenant_id = :t "
                    "AND NOT archived AND (:q <<-> lower(name)) <= 0.4)"
                ),
                {"t": tenant_id, "q": typo.lower()},
            ).scalar_one()

        for name in names:
            word = max(name.split(), key=len)
            if len(word) < 5 or not 1 <= count(b, tenant, word) <= 100:
                continue
            typo = word[:-2] + word[-1] + word[-2]  # as run() makes it
            if count(a, small["tenant_id"], typo) or count(b, tenant, typo):
                continue
            if close(a, small["tenant_id"], typo) and close(b, tenant, typo):
                found = word
                break
    for engine in engines:
        engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owner", required=True, help="owner URL (picks the subject)")
    parser.add_argument("--app", required=True, help="application-role URL (RLS applies)")
    parser.add_argument("-n", "--repeat", type=int, default=40)
    parser.add_argument(
        "--against", nargs=2, metavar=("OWNER", "APP"), help="a larger scale's database"
    )
    args = parser.parse_args()
    sides = [(args.owner, args.app)] + ([tuple(args.against)] if args.against else [])
    subjects = [pick_subject(owner) for owner, _ in sides]
    if args.against:  # the same search at both scales, found at both
        word = shared_word(subjects[0], args.owner, args.against[0])
        for subject in subjects:
            subject["word"] = word
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    results = run([(app, s) for (_, app), s in zip(sides, subjects, strict=True)], args.repeat)
    for subject, rows in zip(subjects, results, strict=True):
        print_side(subject, args.repeat, rows)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if not args.against:
        return
    print(f"\n{'ratio, larger scale / smaller':38} {'median':>10} {'db':>8}")
    for (label, median, _, database, _), (_, median2, _, database2, _) in zip(
        *results, strict=True
    ):
        print(f"{label:38} {median2 / median:10.2f} {database2 / max(database, 0.001):8.2f}")


if __name__ == "__main__":
    main()
