"""Metrics benchmark: the alliance refresh through a real rq worker against its SQL floor,
the tenant refresh, and the alliance dashboard's server time, on PostgreSQL at scale 1.

Not a test (no ``test_`` prefix): a script that prints figures, never asserts timings.

- refresh: from ``jobs.start_refresh`` (JobRun committed, job enqueued on Redis) until the alliance
  snapshot is stored complete, run by an ``rq worker crm -w crm.worker.Worker``
  process started here beforehand, as in production (it forks a work horse per job).
  Each run also reports the job's own compute and write times (``JobRun.result``).
- floor: the same statements (``crm.metrics.sql.metric_plan``: settings, fact tables, one
  aggregation per metric into the results table) on one connection as the metrics role,
  in one transaction; no job machinery, no progress writes, no snapshot written.
- tenant refresh: the largest association's refresh run in-process, and its floor.
- dashboard: ``GET /alliance/`` with the Flask test client in-process, signed in as the
  alliance admin, as the application role; server time from the WSGI call to the last
  byte, and the SQL statements per request (``set_config`` of RLS left out).

    .venv/bin/python -m tests.benchmarks.metrics \\
        --owner postgresql://postgres@127.0.0.1/crm_bench_metrics \\
        --app postgresql://crm_app@127.0.0.1/crm_bench_metrics \\
        --metrics postgresql://crm_metrics@127.0.0.1/crm_bench_metrics \\
        --redis redis://127.0.0.1:6379/13 [-n 7] [--pages 40]

The database is a ``seed-demo --scale 1`` database migrated to head. Each refresh adds
snapshots to it (as the nightly job would); the figures do not depend on how many.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.benchmarks.common import counted_statements
from tests.clients import client_as

ROOT = Path(__file__).resolve().parents[2]


def summary(values: list[float]) -> tuple[float, float]:
    """Median and p95 (nearest rank) of ``values``."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def make_app(args):
    from crm import create_app

    return create_app(
        {
            "ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": args.app,
            "METRICS_DATABASE_URL": args.metrics,
            "MIGRATION_DATABASE_URL": args.owner,
            "REDIS_URL": args.redis,
            "SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
        }
    )


def run_floor(engine, tenant_id: int | None) -> float:
    from crm.metrics.sql import metric_plan

    plan = metric_plan(engine.dialect.name, tenant_id)
    params = {} if tenant_id is None else {"tenant_id": tenant_id}
    start = time.perf_counter()
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin() as transaction:
            for sql in plan.setup:
                connection.execute(text(sql), params)
            for sql in plan.queries.values():
                connection.execute(text(sql), params)
            for sql in plan.teardown:
                connection.execute(text(sql))
            transaction.rollback()
    return time.perf_counter() - start


def start_worker(args) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=args.app,
        METRICS_DATABASE_URL=args.metrics,
        MIGRATION_DATABASE_URL=args.owner,
        REDIS_URL=args.redis,
    )
    rq = Path(sys.executable).with_name("rq")
    command = [str(rq), "worker", "crm", "--url", args.redis, "-P", str(ROOT), "--quiet"]
    command += ["-w", args.worker_class]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_for_worker(queue, deadline: float = 30.0) -> None:
    from rq import Worker

    start = time.perf_counter()
    while not Worker.all(queue=queue):
        if time.perf_counter() - start > deadline:
            raise RuntimeError("the rq worker did not start")
        time.sleep(0.1)


def rq_refresh(app, owner) -> tuple[float, dict]:
    """(enqueue → snapshot stored, the JobRun's result), through the running worker."""
    from crm.extensions import db
    from crm.metrics import jobs

    # One light query every 25 ms (the machine is small: polling must not compete).
    poll = text(
        "SELECT r.status, r.error, r.result, (SELECT s.complete FROM metric_snapshots s "
        "WHERE s.job_run_id = r.id AND s.tenant_id IS NULL) AS stored "
        "FROM job_runs r WHERE r.id = :run"
    )
    with app.app_context():
        start = time.perf_counter()
        run_id = jobs.start_refresh(None).id
        db.session.remove()
    elapsed = None
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while True:
            row = connection.execute(poll, {"run": run_id}).one()
            if row.stored and elapsed is None:
                elapsed = time.perf_counter() - start
            if row.status == "failed":
                raise RuntimeError(f"refresh failed: {row.error}")
            if row.status == "finished":  # marked just after the snapshot's commit
                return elapsed or time.perf_counter() - start, row.result
            time.sleep(0.025)


def tenant_refresh(app, tenant_id: int) -> float:
    """Seconds for the tenant refresh job run in-process (JobRun, compute, snapshot)."""
    from crm.extensions import db
    from crm.jobs import create_run
    from crm.metrics import jobs

    with app.app_context():
        run_id = create_run(jobs.TENANT_KIND, tenant_id)
        start = time.perf_counter()
        jobs.refresh_tenant(tenant_id, run_id)
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed


def dashboard(app, owner, repeat: int) -> tuple[list[float], set[int], int]:
    from crm.extensions import db

    with owner.connect() as connection:
        user = connection.execute(
            text(
                "SELECT id, session_version FROM users WHERE role = 'alliance_admin' "
                "AND tenant_id IS NULL AND active ORDER BY id LIMIT 1"
            )
        ).one()
    timings, statements = [], set()
    with app.app_context():
        client = client_as(app, f"{user.id}:{user.session_version}:")
        size = 0
        with counted_statements(db.engine) as counter:
            for i in range(repeat + 3):
                counter["n"] = 0
                start = time.perf_counter()
                response = client.get("/alliance/")
                size = len(response.get_data())
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, response.status_code
                if i >= 3:  # warm-up requests are not counted
                    timings.append(elapsed)
                    statements.add(counter["n"])
        db.session.remove()
    return timings, statements, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owner", required=True, help="owner URL (reads what was stored)")
    parser.add_argument("--app", required=True, help="application-role URL (RLS applies)")
    parser.add_argument("--metrics", required=True, help="metrics-role URL (cross-tenant)")
    parser.add_argument("--redis", required=True, help="Redis URL for the rq queue")
    parser.add_argument("-n", "--repeat", type=int, default=7, help="refreshes timed")
    parser.add_argument("--pages", type=int, default=40, help="dashboard requests timed")
    parser.add_argument(
        "--worker-class",
        default="crm.worker.Worker",
        help="rq worker class (it must register the app with crm.jobs, as crm.worker.Worker does)",
    )
    args = parser.parse_args()

    from rq import Queue

    from config import normalise_database_url

    app = make_app(args)
    owner = create_engine(normalise_database_url(args.owner))
    metrics = create_engine(normalise_database_url(args.metrics))
    with owner.connect() as connection:
        tenant_id, slug, orgs = connection.execute(
            text(
                "SELECT t.id, t.slug, count(*) FROM organisations o JOIN tenants t "
                "ON t.id = o.tenant_id GROUP BY t.id, t.slug ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        sizes = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM organisations), "
                "(SELECT count(*) FROM projects), (SELECT count(*) FROM participations)"
            )
        ).one()
    print(
        f"{sizes[0]} associations, {sizes[1]:,} organisations, {sizes[2]:,} projects, "
        f"{sizes[3]:,} participations; {os.cpu_count()} CPUs (shared: figures vary)"
    )

    with app.app_context():
        from crm.extensions import redis_connection

        queue = Queue("crm", connection=redis_connection())
        queue.empty()
    worker = start_worker(args)
    try:
        wait_for_worker(queue)
        run_floor(metrics, None)  # warm the caches once
        refreshes, job_seconds, computing, floors = [], [], [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            floors.append(run_floor(metrics, None))
            elapsed, result = rq_refresh(app, owner)
            refreshes.append(elapsed)
            job_seconds.append(result["seconds"])
            computing.append(result["compute_seconds"])
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown of the worker started above
        worker.wait(timeout=60)

    def line(label: str, values: list[float], unit: str = "s") -> None:
        median, p95 = summary(values)
        print(f"{label:58} {median:8.3f} {p95:8.3f} {unit}", flush=True)

    print(f"{'':58} {'median':>8} {'p95':>8}")
    print(
        f"alliance refresh ({args.repeat} runs, rq worker -w {args.worker_class}, "
        "enqueue -> snapshot stored)"
    )
    line("  refresh", refreshes)
    line("  of which the job's compute and write", job_seconds)
    line("  of which computing", computing)
    line("  floor (same SQL directly)", floors)
    ratios = [r / f for r, f in zip(refreshes, floors, strict=True)]
    line("  ratio refresh / floor (per interleaved pair)", ratios, "x")
    print(
        f"  ratio of medians: {statistics.median(refreshes) / statistics.median(floors):.2f}x "
        "(targets: <= 2x the floor and <= 5 s)"
    )

    tenant_runs, tenant_floors = [], []
    for _ in range(args.repeat):
        tenant_floors.append(run_floor(metrics, tenant_id))
        tenant_runs.append(tenant_refresh(app, tenant_id))
    print(f"tenant refresh: {slug} ({orgs:,} organisations; in-process job)")
    line("  refresh", tenant_runs)
    line("  floor (same SQL directly)", tenant_floors)

    pages, statements, size = dashboard(app, owner, args.pages)
    print(f"alliance dashboard GET /alliance/ ({args.pages} requests after 3 warm-ups)")
    line("  server time", pages, "ms")
    shown = ", ".join(str(s) for s in sorted(statements))
    print(f"  SQL statements per request: {shown}; page {size:,} bytes (target p95 <= 100 ms)")
    owner.dispose()
    metrics.dispose()


if __name__ == "__main__":
    main()
