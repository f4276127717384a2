"""Page benchmark: server time and SQL statements of every GET page, per demo role, at scale 1.

Not a test (no ``test_`` prefix): a script that prints figures, it asserts no timing.
It drives the real app in-process (Flask test client, no network), signs in
through the login form as each demo login of the largest association
(admin@, secretariat@, manager@<slug>.example.org) and as the alliance admin,
connected as the application role (row-level security on), and times each
request from the WSGI call to the last byte. The pages are those of the
navigation bar plus the detail pages behind them: the project list (first,
filtered, deep page, exports of a filtered list), the project with the largest
consortium, the cluster manager's "My cluster", the organisation page of the
biggest cluster, user administration and the audit log.

    DATABASE_URL=postgresql://crm_app@127.0.0.1/crm_bench_projects \\
    MIGRATION_DATABASE_URL=postgresql://postgres@127.0.0.1/crm_bench_projects \\
    METRICS_DATABASE_URL=postgresql://crm_metrics@127.0.0.1/crm_bench_projects \\
        .venv/bin/python -m tests.benchmarks.pages [-n 15] [--only projects] [--trace]

Columns: median and 95th percentile of the server time per request, the median
time spent in SQL (statement sent to last row fetched, seen from the client),
and the number of SQL statements. ``--trace`` prints, after the table, the three
slowest SQL statements of one request of each page (to find what to index or
rewrite). Statements are counted on every engine (the app's and the
cross-tenant one); the per-transaction ``set_config('app.tenant_id', …)`` of
row-level security is not counted. The machine may be shared: repeat a run
before reading much into a difference of less than two times.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

PASSWORD = "demo-password-2026"
ALLIANCE_ADMIN = "admin@alliance.example.org"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Subject:
    """The largest association and the ids of the pages worth measuring in it."""

    tenant_id: int
    slug: str
    organisations: int
    projects: int
    big_project: int
    big_project_size: int
    big_participation: int
    programme: str
    year: int
    big_cluster: int
    big_cluster_members: int
    manager_cluster: int
    manager_project: int | None
    manager_user: int
    audit_action: str
    name_word: str


def one(connection, sql: str, **params):
    return connection.execute(text(sql), params).one()


def pick_subject(owner_url: str) -> Subject:
    engine = create_engine(owner_url)
    with engine.connect() as c:
        tenant_id, slug, orgs = one(
            c,
            "SELECT t.id, t.slug, count(*) FROM organisations o JOIN tenants t "
            "ON t.id = o.tenant_id WHERE NOT o.archived GROUP BY t.id, t.slug "
            "ORDER BY count(*) DESC LIMIT 1",
        )
        t = {"t": tenant_id}
        (projects,) = one(c, "SELECT count(*) FROM projects WHERE tenant_id = :t", **t)
        big_project, size = one(
            c,
            "SELECT project_id, count(*) FROM participations WHERE tenant_id = :t "
            "GROUP BY project_id ORDER BY count(*) DESC, project_id LIMIT 1",
            **t,
        )
        (participation,) = one(
            c,
            "SELECT id FROM participations WHERE tenant_id = :t AND project_id = :p "
            "ORDER BY id LIMIT 1",
            p=big_project,
            **t,
        )
        (programme,) = one(
            c,
            "SELECT programme_code FROM projects WHERE tenant_id = :t "
            "GROUP BY programme_code ORDER BY count(*) DESC LIMIT 1",
            **t,
        )
        (year,) = one(
            c,
            "SELECT extract(year FROM start_date)::int FROM projects WHERE tenant_id = :t "
            "AND start_date IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            **t,
        )
        big_cluster, members = one(
            c,
            "SELECT cluster_id, count(*) FROM cluster_memberships WHERE tenant_id = :t "
            "GROUP BY cluster_id ORDER BY count(*) DESC LIMIT 1",
            **t,
        )
        manager_user, manager_cluster = one(
            c,
            "SELECT id, cluster_id FROM users WHERE email = :e",
            e=f"manager@{slug}.example.org",
        )
        manager_project = c.execute(
            text(
                "SELECT p.id FROM projects p LEFT JOIN participations x "
                "ON x.tenant_id = p.tenant_id AND x.project_id = p.id "
                "WHERE p.tenant_id = :t AND p.cluster_id = :c "
                "GROUP BY p.id ORDER BY count(x.id) DESC, p.id LIMIT 1"
            ),
            {"c": manager_cluster, **t},
        ).scalar()
        (action,) = one(
            c,
            "SELECT action FROM audit_events WHERE tenant_id = :t "
            "GROUP BY action ORDER BY count(*) DESC LIMIT 1",
            **t,
        )
        # A word of a name in the middle of the list, as someone would type it.
        (name,) = one(
            c,
            "SELECT name FROM organisations WHERE tenant_id = :t AND kind = 'firm' "
            "ORDER BY id OFFSET :half LIMIT 1",
            half=orgs // 2,
            **t,
        )
    engine.dispose()
    return Subject(
        tenant_id=tenant_id,
        slug=slug,
        organisations=orgs,
        projects=projects,
        big_project=big_project,
        big_project_size=size,
        big_participation=participation,
        programme=programme,
        year=year,
        big_cluster=big_cluster,
        big_cluster_members=members,
        manager_cluster=manager_cluster,
        manager_project=manager_project,
        manager_user=manager_user,
        audit_action=action,
        name_word=max(name.split(), key=len),
    )


def scenarios(s: Subject, page_size: int) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(role, login e-mail, [(label, path), ...]) — the pages each role reaches."""
    t = f"/{s.slug}"
    deep = max(1, int(s.projects / page_size * 0.9))
    flt = f"programme={s.programme}&status=funded&year={s.year}"
    project = f"{t}/projects/{s.big_project}"
    projects = [
        ("projects: first page", f"{t}/projects"),
        ("projects: filtered", f"{t}/projects?{flt}"),
        ("projects: by cluster", f"{t}/projects?cluster={s.big_cluster}"),
        (f"projects: deep page {deep}", f"{t}/projects?page={deep}"),
        ("projects: export CSV, filtered", f"{t}/projects?programme={s.programme}&format=csv"),
        ("projects: export XLSX, filtered", f"{t}/projects?programme={s.programme}&format=xlsx"),
        ("projects: export CSV, all", f"{t}/projects?format=csv"),
        (f"project page ({s.big_project_size} participants)", project),
        ("project: edit form", f"{project}/edit"),
        ("project: outcome form", f"{project}/outcome"),
        ("project: add participant form", f"{project}/participations/new"),
        (
            f"project: add participant, search '{s.name_word}'",
            f"{project}/participations/new?q={s.name_word}",
        ),
        (
            "project: edit participant form",
            f"{project}/participations/{s.big_participation}/edit",
        ),
        ("project: new form", f"{t}/projects/new"),
    ]
    members = [
        ("dashboard", f"{t}/dashboard"),
        ("members: first page", f"{t}/members"),
        ("membership renewals", f"{t}/renewals"),
        (
            f"organisation page, biggest cluster ({s.big_cluster_members} members)",
            f"{t}/members/{s.big_cluster}",
        ),
        ("imports", f"{t}/imports"),
        ("figures", f"{t}/figures"),
    ]
    admin = [
        ("users", f"{t}/users"),
        ("user: new form", f"{t}/users/new"),
        ("user: edit form", f"{t}/users/{s.manager_user}/edit"),
        ("audit log", f"{t}/audit"),
        ("audit log: filtered by action", f"{t}/audit?action={s.audit_action}"),
        ("audit log: export CSV", f"{t}/audit?format=csv"),
        ("change password form", "/account/password"),
    ]
    manager = [
        ("my cluster", f"{t}/my-cluster"),
        ("my cluster: new proposal form", f"{t}/my-cluster/proposals/new"),
    ]
    if s.manager_project:
        mine = f"{t}/projects/{s.manager_project}"
        manager += [
            ("my cluster: project page", mine),
            ("my cluster: project edit form", f"{mine}/edit"),
            ("my cluster: add participant form", f"{mine}/participations/new"),
        ]
    alliance = [
        ("alliance figures", "/alliance/"),
        ("alliance: countries", "/alliance/countries"),
        ("alliance: associations", "/alliance/associations/"),
    ]
    return [
        ("tenant admin", f"admin@{s.slug}.example.org", members + projects + admin),
        ("secretariat", f"secretariat@{s.slug}.example.org", members + projects[:8]),
        ("cluster manager", f"manager@{s.slug}.example.org", manager),
        ("alliance admin", ALLIANCE_ADMIN, alliance),
    ]


class Counter:
    """Counts (and optionally times) SQL statements on every engine."""

    def __init__(self) -> None:
        self.n = 0
        self.ms = 0.0
        self.trace: list[tuple[float, str]] | None = None

    def before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        if "set_config('app.tenant_id'" in statement:
            return
        self.n += 1
        took = (time.perf_counter() - conn.info.pop("bench_started")) * 1000
        self.ms += took
        if self.trace is not None:
            self.trace.append((took, " ".join(statement.split())))

    def install(self) -> None:
        event.listen(Engine, "before_cursor_execute", self.before)
        event.listen(Engine, "after_cursor_execute", self.after)

    def remove(self) -> None:
        event.remove(Engine, "before_cursor_execute", self.before)
        event.remove(Engine, "after_cursor_execute", self.after)


def sign_in(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, (email, response.status_code)


def measure(client, counter: Counter, path: str, repeat: int, warmup: int = 2):
    timings, sql_timings, statements = [], [], set()
    for i in range(repeat + warmup):
        counter.n, counter.ms = 0, 0.0
        start = time.perf_counter()
        response = client.get(path)
        response.get_data()
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (path, response.status_code)
        if i >= warmup:
            timings.append(elapsed)
            sql_timings.append(counter.ms)
            statements.add(counter.n)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, statistics.median(sql_timings), sorted(statements)


def trace_one(client, counter: Counter, path: str) -> list[tuple[float, str]]:
    counter.trace = []
    client.get(path).get_data()
    slowest = sorted(counter.trace, reverse=True)[:3]
    counter.trace = None
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument(
        "--app", default=env("DATABASE_URL"), help="application-role URL (RLS applies)"
    )
    parser.add_argument(
        "--owner", default=env("MIGRATION_DATABASE_URL"), help="owner URL, to pick the subject"
    )
    parser.add_argument("--metrics", default=env("METRICS_DATABASE_URL"))
    parser.add_argument("-n", "--repeat", type=int, default=15, help="timed requests per page")
    parser.add_argument("--only", default="", help="only pages whose label contains this")
    parser.add_argument("--trace", action="store_true", help="print each page's slowest SQL")
    args = parser.parse_args()
    if not (args.app and args.owner):
        parser.error("set DATABASE_URL and MIGRATION_DATABASE_URL (or --app and --owner)")

    from crm import create_app
    from crm.extensions import db

    subject = pick_subject(args.owner)
    app = create_app(
        {
            "ENV": "development",
            "SQLALCHEMY_DATABASE_URI": args.app,
            "MIGRATION_DATABASE_URL": args.owner,
            "METRICS_DATABASE_URL": args.metrics,
            "SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
            "REDIS_URL": None,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    print(
        f"association {subject.slug}: {subject.organisations:,} current organisations, "
        f"{subject.projects:,} projects; {args.repeat} timed requests per page after 2 warm-ups"
    )
    counter = Counter()
    counter.install()
    traces = []
    # No app context is held around the requests: each request pushes its own,
    # as in production, so nothing cached on ``g`` carries over.
    for role, email, pages in scenarios(subject, app.config["PAGE_SIZE"]):
        pages = [(label, path) for label, path in pages if args.only in label]
        if not pages:
            continue
        client = app.test_client()
        sign_in(client, email)
        print(f"\n{role} ({email})")
        print(f"  {'page':52} {'median ms':>10} {'p95 ms':>8} {'SQL ms':>7} {'SQL':>4}")
        for label, path in pages:
            median, p95, sql_ms, statements = measure(client, counter, path, args.repeat)
            shown = ",".join(str(n) for n in statements)
            print(f"  {label:52} {median:10.1f} {p95:8.1f} {sql_ms:7.1f} {shown:>4}", flush=True)
            if args.trace:
                traces.append((role, label, path, trace_one(client, counter, path)))
    counter.remove()
    with app.app_context():
        db.engine.dispose()
    for role, label, path, slowest in traces:
        print(f"\n{role} · {label} · {path}")
        for took, statement in slowest:
            print(f"  {took:8.1f} ms  {statement[:400]}")


if __name__ == "__main__":
    main()
