"""Import benchmark: a 100,000-row organisations CSV, dry run then commit, on PostgreSQL.

Not a test (no ``test_`` prefix): a script that prints figures. Each run takes
a fresh copy of the scale-1 demo database, writes a file the way a Spanish
association's old tool would (Windows-1252, semicolons, decimal commas and
thousands dots; a tenth of the rows name organisations already recorded, by
registration id or by name and city, so the import updates as well as
creates), and drives the real app as that association's secretariat: upload,
mapping (which enqueues the dry run on Redis, as the app does for large
files), commit (enqueued likewise). Each job is run by a real rq worker
(``SimpleWorker``, burst) in a separate process connected as the application
role, so row-level security is on. The job's own time comes from its
``job_runs`` row; the wall time adds the queue and the worker's start.

    .venv/bin/python -m tests.benchmarks.imports \\
        --owner postgresql://postgres@127.0.0.1/crm_bench_imports \\
        --app postgresql://crm_app@127.0.0.1/crm_bench_imports \\
        --redis redis://127.0.0.1:6379/10 [--rows 100000] [--repeat 3] [--format xlsx]

Without ``--redis`` the jobs run in-process, inside the requests, as the app
does when no Redis is configured. ``--format xlsx`` writes the same rows as an
Excel workbook (numbers as numbers) instead of the CSV.

The database named in the URLs is dropped and copied again from ``--template``
(default ``crm_demo_scale1``) before each run, then migrated to head.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.clients import client_as

SECRET = "benchmark-secret-key-benchmark-secret-key"
HEADER = [
    "Razón social",
    "CIF",
    "NIF-IVA",
    "Ciudad",
    "NUTS2",
    "Sitio web",
    "CNAE",
    "Empleados",
    "Facturación",
    "Total activo",
    "Año de fundación",
    "Tipo",
    "Descripción",
]
WORDS = (
    "Aceros Bodegas Cerámicas Conservas Datos Energías Forja Gestión Hidráulica Ingeniería "
    "Laboratorios Maderas Náutica Óptica Papelera Química Robótica Software Textil Vidrios"
).split()
SUFFIXES = ("S.L.", "S.A.", "S.L.U.", "Sociedad Cooperativa", "S.L.L.")
NACE = ("C", "26", "26.1", "26.11", "62.01", "72.19", "10.8", "J", "M", "28.99")
KINDS = ("empresa",) * 17 + ("universidad", "centro tecnológico", "administración pública")


def app_config(app_url: str, redis_url: str) -> dict:
    return {
        "ENV": "testing",  # no CSRF tokens to fetch; everything else as in production
        "SQLALCHEMY_DATABASE_URI": app_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
    }


# -- the database ------------------------------------------------------------------------


def fresh_database(owner_url: str, template: str) -> None:
    """Drop the benchmark database and copy it again from the template; migrate to head."""
    from crm import database

    name = make_url(owner_url).database
    maintenance = create_engine(
        make_url(owner_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with maintenance.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for attempt in range(30):  # another copy from the template may be under way
            try:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
                break
            except Exception:
                if attempt == 29:
                    raise
                time.sleep(2)
    maintenance.dispose()
    database.upgrade(owner_url)
    database.grant_roles(owner_url, "crm_app", "crm_metrics", create=False)


def pick_subject(owner_url: str) -> dict:
    """The largest association, its secretariat user and its organisations' keys."""
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        tenant = connection.execute(
            text(
                "SELECT t.id, t.slug, t.country FROM organisations o JOIN tenants t "
                "ON t.id = o.tenant_id GROUP BY t.id ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        user = connection.execute(
            text(
                "SELECT id, session_version FROM users WHERE tenant_id = :t "
                "AND role = 'secretariat' ORDER BY id LIMIT 1"
            ),
            {"t": tenant.id},
        ).one()
        existing = connection.execute(
            text(
                "SELECT registration_id, name, city, kind FROM organisations "
                "WHERE tenant_id = :t AND NOT archived ORDER BY id"
            ),
            {"t": tenant.id},
        ).all()
    engine.dispose()
    return {
        "tenant_id": tenant.id,
        "slug": tenant.slug,
        "country": tenant.country,
        "user_identity": f"{user.id}:{user.session_version}:{tenant.id}",
        "existing": existing,
    }


def count_organisations(owner_url: str, tenant_id: int) -> int:
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        total = connection.execute(
            text("SELECT count(*) FROM organisations WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
    engine.dispose()
    return total


def job_run(owner_url: str, run_id: int) -> dict:
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT status, started_at, finished_at, result, error FROM job_runs WHERE id = :id"
            ),
            {"id": run_id},
        ).one()
    engine.dispose()
    return {
        "status": row.status,
        "seconds": (row.finished_at - row.started_at).total_seconds(),
        "result": row.result,
        "error": row.error,
    }


# -- the file --------------------------------------------------------------------------------


def _amount(value: float) -> str:
    """1234567.5 -> '1.234.567,50' (Spanish spreadsheets)."""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def make_rows(subject: dict, rows: int, seed: int = 1) -> tuple[list[list], dict]:
    """The file's rows (numbers as numbers), and how many should update (by registration
    id, by name and city)."""
    rng = random.Random(seed)
    country = subject["country"]
    # Existing organisations the file names again: 9% by registration id, 1% by name and city.
    existing = [e for e in subject["existing"] if e.kind == "firm"]
    rng.shuffle(existing)
    by_reg = [e for e in existing if e.registration_id][: rows * 9 // 100]
    taken = {e.registration_id for e in by_reg}
    names_seen: set = set()
    by_name = []
    for e in existing:
        key = (e.name.casefold(), (e.city or "").casefold())
        if e.registration_id in taken or key in names_seen or len(by_name) >= rows // 100:
            names_seen.add(key)
            continue
        names_seen.add(key)
        by_name.append(e)
    out = []
    for i in range(rows):
        employees = rng.choice((0, 3, 8, 12, 35, 60, 140, 320, 1200))
        turnover = round(employees * rng.uniform(40_000, 180_000), 2)
        row = {
            "name": f"{rng.choice(WORDS)} {rng.choice(WORDS)} Nº {i} {rng.choice(SUFFIXES)}",
            "reg": f"B{70_000_000 + i:08d}",
            "city": rng.choice(("Bilbao", "Málaga", "A Coruña", "Logroño", "Cádiz", "León")),
            "kind": rng.choice(KINDS),
        }
        if i < len(by_reg):
            e = by_reg[i]
            row.update(name=e.name, reg=e.registration_id, city=e.city, kind="empresa")
        elif i < len(by_reg) + len(by_name):
            e = by_name[i - len(by_reg)]
            row.update(name=e.name, reg="", city=e.city, kind="empresa")
        out.append(
            [
                row["name"],
                row["reg"],
                f"{country}{row['reg'] or 'X0000000'}" if rng.random() < 0.6 else "",
                row["city"],
                f"{country}{rng.choice('12345')}{rng.choice('123')}",
                f"https://www.example-{i}.es" if rng.random() < 0.7 else "",
                rng.choice(NACE),
                employees,
                turnover if rng.random() < 0.8 else None,
                round(turnover * rng.uniform(0.5, 1.5), 2) if rng.random() < 0.5 else None,
                rng.randint(1950, 2025) if rng.random() < 0.7 else None,
                row["kind"],
                "Fabricación y servicios; exportación a la UE" if rng.random() < 0.3 else "",
            ]
        )
    return out, {"by_registration": len(by_reg), "by_name_city": len(by_name)}


def to_csv(rows: list[list]) -> bytes:
    """Windows-1252, semicolons, amounts as '1.234.567,50' (a Spanish spreadsheet's export)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [_amount(v) if isinstance(v, float) else "" if v is None else v for v in row]
        )
    return out.getvalue().encode("cp1252")


def to_xlsx(rows: list[list]) -> bytes:
    """A workbook as Excel saves it (numbers as numbers, the sheet's size stated)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- the worker (a separate process) -------------------------------------------------------


def worker_main(app_url: str, redis_url: str) -> None:
    """Run the queued jobs with a real rq worker; print SQL calls and peak memory as JSON."""
    from rq import Queue, SimpleWorker

    from crm import create_app
    from crm.jobs import QUEUE_NAME

    app = create_app(app_config(app_url, redis_url))
    counted = {"calls": 0, "writes": 0, "executemany": 0}
    with counting(app, counted), app.app_context():
        connection = app.extensions["crm.redis"]
        SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
            burst=True, logging_level="WARNING"
        )
    print(json.dumps(counted))


@contextmanager
def counting(app, counted: dict):
    """Count the SQL statements ``app`` sends (not the tenant setting of each transaction),
    and note the process's peak memory at the end."""
    from sqlalchemy import event

    from crm.extensions import db

    def count(conn, cursor, statement, parameters, context, executemany):
        if "set_config('app.tenant_id'" in statement:
            return
        counted["calls"] += 1
        counted["writes"] += statement.lstrip().startswith(("INSERT", "UPDATE", "DELETE"))
        counted["executemany"] += bool(executemany)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", count)
        counted["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(app_url: str, redis_url: str) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.imports", "--worker", app_url, redis_url],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


# -- one run ------------------------------------------------------------------------------------


def run_once(args, data: bytes, subject: dict, reimport: bool) -> dict:
    from redis import Redis

    from crm import create_app
    from crm.extensions import db
    from crm.models import ImportBatch
    from crm.tenancy import tenant_scope

    if args.redis:
        Redis.from_url(args.redis).flushdb()
    app = create_app(app_config(args.app, args.redis))
    slug, tenant_id = subject["slug"], subject["tenant_id"]
    client = client_as(app, subject["user_identity"])
    before = count_organisations(args.owner, tenant_id)
    figures: dict = {}

    def batch_state(batch_id: int) -> ImportBatch:
        with app.app_context(), tenant_scope(tenant_id):
            batch = db.session.get(ImportBatch, batch_id)
            db.session.expunge(batch)
            db.session.remove()
        return batch

    def phase(name: str, path: str, form: dict | None, batch_id: int) -> None:
        start = time.perf_counter()
        counted = {"calls": 0, "writes": 0, "executemany": 0}
        with counting(app, counted):  # in-process: the job runs inside this request
            response = client.post(path, data=form or {})
        assert response.status_code in (302, 303), (path, response.status_code)
        wall = 0.0
        if args.redis:
            wall, counted = run_worker(args.app, args.redis)
        batch = batch_state(batch_id)
        run = job_run(args.owner, batch.job_run_id)
        assert run["status"] == "finished", run
        figures[name] = {
            "job": run["seconds"],
            "wall": time.perf_counter() - start,
            "worker_wall": wall,
            **counted,
        }

    def import_file(name: str, commit: bool) -> ImportBatch:
        start = time.perf_counter()
        response = client.post(
            f"/{slug}/imports",
            data={"kind": "organisations", "file": (io.BytesIO(data), f"socios.{args.format}")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        figures[f"{name} upload"] = time.perf_counter() - start
        batch_id = int(response.headers["Location"].rstrip("/").split("/")[-2])
        batch = batch_state(batch_id)
        mapping = dict(batch.mapping)  # the suggestion, accepted as it stands
        assert len(mapping) == len(HEADER), mapping
        figures["mapping"] = mapping
        form = {f"map_{key}": header for key, header in mapping.items()}
        phase(f"{name} dry run", f"/{slug}/imports/{batch_id}/mapping", form, batch_id)
        batch = batch_state(batch_id)
        assert batch.status == "checked" and batch.rejected_count == 0, batch.report
        if commit:
            phase(f"{name} commit", f"/{slug}/imports/{batch_id}/commit", None, batch_id)
            batch = batch_state(batch_id)
            assert batch.status == "committed", batch.status
        return batch

    batch = import_file("import", commit=True)
    after = count_organisations(args.owner, tenant_id)
    assert after == before + batch.created_count, (before, after, batch.created_count)
    figures["counts"] = {
        "rows": batch.row_count,
        "created": batch.created_count,
        "updated": batch.updated_count,
        "unchanged": batch.unchanged_count,
        "organisations before": before,
        "after": after,
    }
    if reimport:
        again = import_file("re-import", commit=False)
        assert again.created_count == 0 and again.updated_count == 0, again.report
        figures["counts"]["re-import unchanged"] = again.unchanged_count
    with app.app_context():
        db.engine.dispose()
    return figures


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered):6.1f}  p95 {p95:6.1f}"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owner", required=True, help="owner URL of the benchmark database")
    parser.add_argument("--app", required=True, help="application-role URL (RLS applies)")
    parser.add_argument(
        "--redis", help="Redis URL for the queue (flushed); without it the jobs run in-process"
    )
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--template", default="crm_demo_scale1")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("-n", "--repeat", type=int, default=3)
    parser.add_argument("--save", help="also write the generated file to this path")
    args = parser.parse_args()

    runs = []
    for i in range(args.repeat):
        start = time.perf_counter()
        fresh_database(args.owner, args.template)
        subject = pick_subject(args.owner)
        rows, matches = make_rows(subject, args.rows)
        data = to_csv(rows) if args.format == "csv" else to_xlsx(rows)
        del rows
        if i == 0:
            if args.save:
                with open(args.save, "wb") as out:
                    out.write(data)
            what = (
                "CSV in Windows-1252, semicolons, decimal commas"
                if args.format == "csv"
                else "Excel workbook"
            )
            print(
                f"association {subject['slug']} ({subject['country']}): "
                f"{len(subject['existing']):,} organisations; file: {args.rows:,} rows, "
                f"{len(data) / 1e6:.1f} MB, {what}; "
                f"{matches['by_registration']:,} rows name a recorded organisation by "
                f"registration id, {matches['by_name_city']:,} by name and city "
                f"(database copied in {time.perf_counter() - start:.0f} s)"
            )
        figures = run_once(args, data, subject, reimport=(i == args.repeat - 1))
        if i == 0:
            print("suggested mapping:", json.dumps(figures["mapping"], ensure_ascii=False))
            print("result:", json.dumps(figures["counts"]))
        dry, commit = figures["import dry run"], figures["import commit"]
        total = dry["job"] + commit["job"]
        print(
            f"run {i + 1}: upload {figures['import upload']:.1f} s; dry run {dry['job']:.1f} s "
            f"(wall {dry['wall']:.1f} s), commit {commit['job']:.1f} s "
            f"(wall {commit['wall']:.1f} s); dry run + commit {total:.1f} s = "
            f"{args.rows / total:,.0f} rows/s; SQL statements {dry['calls']} + {commit['calls']} "
            f"({commit['writes']} writing, {commit['executemany']} executemany); "
            f"{'worker' if args.redis else 'process'} peak RSS "
            f"{max(dry['peak_rss_mb'], commit['peak_rss_mb']):.0f} MB"
        )
        if "re-import dry run" in figures:
            again = figures["re-import dry run"]
            print(
                f"       re-import of the same file: dry run {again['job']:.1f} s, "
                f"{figures['counts']['re-import unchanged']:,} rows unchanged, none created"
            )
        runs.append(figures)
    print(f"over {len(runs)} runs (a shared 2-core machine; p95 of few runs is their worst):")
    for label, key in (("dry run", "import dry run"), ("commit", "import commit")):
        print(f"  {label:18} job seconds {summary([r[key]['job'] for r in runs])}")
    totals = [r["import dry run"]["job"] + r["import commit"]["job"] for r in runs]
    walls = [r["import dry run"]["wall"] + r["import commit"]["wall"] for r in runs]
    print(f"  {'dry run + commit':18} job seconds {summary(totals)}   (target < 60 s)")
    print(f"  {'with queue + start':18} wall seconds {summary(walls)}")
    rates = [args.rows / t for t in totals]
    print(f"  {'rows/s':18} median {statistics.median(rates):6,.0f}  slowest {min(rates):6,.0f}")


if __name__ == "__main__":
    main()
