"""CORDIS benchmark: load a generated export of real size, then reconcile every association.

Not a test (no ``test_`` prefix): a script that prints figures. On a database
holding the scale-1 demo (``flask crm seed-demo --scale 1``; ``--seed-demo`` does
it here on an empty, migrated database), it gives 30% of each association's
members a PIC (as the owner), writes a Horizon Europe export of ``--projects``
projects and ``--rows`` organisation rows in CORDIS's format (semicolons,
quotes, decimal commas, newlines inside the objective), zipped, in which those
members take part both in grants the association recorded and in others, then:

* loads it with ``crm.cordis.loader.load_export`` as the owner (time, peak memory);
* for each of the 13 associations, as the application role (row-level security
  on), computes the three lists of the reconciliation page (time, rows).

    .venv/bin/python -m tests.benchmarks.cordis \\
        --owner postgresql://postgres@127.0.0.1/crm_wt_cordis \\
        --app postgresql://crm_app@127.0.0.1/crm_wt_cordis [--seed-demo]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from sqlalchemy import create_engine, text

from crm import create_app, database
from crm.cordis import queries
from crm.cordis.loader import load_export
from crm.dialects import tune_sqlite
from crm.extensions import db
from crm.tenancy import tenant_scope

PROJECT_HEADER = [
    "id", "acronym", "status", "title", "startDate", "endDate", "totalCost",
    "ecMaxContribution", "legalBasis", "topics", "ecSignatureDate", "frameworkProgramme",
    "masterCall", "subCall", "fundingScheme", "nature", "objective", "contentUpdateDate",
    "rcn", "grantDoi",
]  # fmt: skip
ORGANISATION_HEADER = [
    "projectID", "projectAcronym", "organisationID", "vatNumber", "name", "shortName", "SME",
    "activityType", "street", "postCode", "city", "country", "nutsCode", "geolocation",
    "organizationURL", "contactForm", "contentUpdateDate", "rcn", "order", "role",
    "ecContribution", "netEcContribution", "totalCost", "endOfParticipation", "active",
]  # fmt: skip
COUNTRIES = ["FR", "DE", "ES", "IT", "PL", "NL", "BE", "EL", "PT", "CZ", "FI", "RO", "UK"]


def give_pics(owner_url: str, rng: random.Random, share: float) -> tuple[list, list]:
    """PICs for ``share`` of the members (owner; RLS does not apply), or the ones the
    members hold already (an earlier run's, or the demo's since it gives PICs); returns
    (pic, name, country, city, vat) of each member with one, shuffled, and the recorded
    HE and H2020 grant keys."""
    engine = create_engine(owner_url)
    with engine.begin() as connection:
        given = "pic IS NOT NULL AND is_external = false"
        if not connection.scalar(text(f"SELECT count(*) FROM organisations WHERE {given}")):
            rows = connection.execute(
                text(
                    "SELECT id FROM organisations WHERE is_external = false "
                    "AND archived = false AND pic IS NULL ORDER BY id"
                )
            ).scalars()
            chosen = [i for i in rows if rng.random() < share]
            connection.execute(
                text("UPDATE organisations SET pic = :pic WHERE id = :id"),
                [{"pic": f"{900_000_000 + n:09d}", "id": i} for n, i in enumerate(chosen)],
            )
        members = connection.execute(
            text(f"SELECT pic, name, country, city, vat_id FROM organisations WHERE {given}")
        ).all()
        recorded = connection.execute(
            text(
                "SELECT DISTINCT grant_key FROM projects WHERE grant_key IS NOT NULL "
                "AND programme_code IN ('HE', 'H2020') ORDER BY grant_key"
            )
        ).scalars()
        recorded = [k for k in recorded if k.isdigit()]
    engine.dispose()
    members = [tuple(m) for m in members]
    rng.shuffle(members)  # every association's members take part
    return members, recorded


def write_export(path: Path, projects: int, rows: int, members, recorded, rng) -> None:
    """A zip like CORDIS's: project.csv and organization.csv."""
    keys = list(dict.fromkeys(recorded))[: projects // 3]
    keys += [str(101_000_000 + i) for i in range(projects - len(keys))]
    project_csv, org_csv = io.StringIO(), io.StringIO()
    writer = csv.writer(project_csv, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(PROJECT_HEADER)
    for i, key in enumerate(keys):
        year = 2021 + i % 5
        writer.writerow(
            [key, f"P{i}", "SIGNED", f"Project {i}; generated", f"{year}-01-01",
             f"{year + 3}-12-31", f"{rng.randint(500_000, 9_000_000)},5", "1000000",
             "HORIZON.2.4", f"HORIZON-CL4-{year}-01", f"{year - 1}-11-15", "HORIZON",
             f"HORIZON-CL4-{year}", f"HORIZON-CL4-{year}-01", "HORIZON-RIA", "",
             f"Objective of {i};\nsecond line with \"quotes\".", "2024-01-01 10:00:00",
             str(i), ""]
        )  # fmt: skip
    writer = csv.writer(org_csv, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(ORGANISATION_HEADER)
    member_rows = min(len(members) * 3, rows // 5)
    for i in range(rows):
        key = keys[rng.randrange(len(keys))]
        if i < member_rows:  # a member: PIC, name and VAT as the CRM has them
            pic, name, country, city, vat = members[i % len(members)]
            country = "EL" if country == "GR" else country
        else:
            pic, name, city, vat = f"{800_000_000 + i % 60_000:09d}", f"Org {i}", "City", ""
            country = COUNTRIES[i % len(COUNTRIES)]
        writer.writerow(
            [key, "", pic, vat or "", name, "", "true" if i % 3 else "false", "PRC",
             "1 Main street", "1000", city or "", country, "", "", "", "",
             "2024-01-01 10:00:00", str(i), str(i % 12 + 1),
             "coordinator" if i % 12 == 0 else "participant", "250000,5", "250000,5",
             "300000", "false", "true"]
        )  # fmt: skip
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("csv/project.csv", project_csv.getvalue())
        archive.writestr("csv/organization.csv", org_csv.getvalue())


def load_only(owner_url: str, path: str) -> None:
    engine = create_engine(owner_url)
    if engine.dialect.name == "sqlite":
        tune_sqlite(engine)
    started = time.perf_counter()
    report = load_export(engine, [path])
    seconds = time.perf_counter() - started
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**report.as_dict(), "seconds": seconds, "peak_mb": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--owner", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--projects", type=int, default=15_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed-demo", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--load-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_only:
        return load_only(args.owner, args.load_only)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.app,
            "MIGRATION_DATABASE_URL": args.owner,
            "REDIS_URL": None,
            "SECRET_KEY": "benchmark-secret-key-0123456789-abcdef",
        }
    )
    if args.seed_demo:
        started = time.perf_counter()
        runner = app.test_cli_runner()
        commands = [["crm", "migrate"]]
        if args.owner != args.app:  # the app role loads the associations' rows
            commands.append(["crm", "grant-roles"])
        commands.append(
            [
                "crm",
                "seed-demo",
                "--scale",
                str(args.scale),
                "--today",
                "2026-11-25",
                "--no-metrics",
            ]
        )
        for command in commands:
            with app.app_context():
                result = runner.invoke(args=command)
            if result.exit_code != 0:
                raise SystemExit(f"{' '.join(command)}: {result.output} {result.exception!r}")
        print(f"demo seeded in {time.perf_counter() - started:.0f} s")
    rng = random.Random(16)
    members, recorded = give_pics(args.owner, rng, 0.3)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cordis-HORIZONprojects-csv.zip"
        write_export(path, args.projects, args.rows, members, recorded, rng)
        size = path.stat().st_size
        # In a process of its own, so its peak memory is the load's alone.
        output = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.cordis", "--owner", args.owner,
             "--app", args.app, "--load-only", str(path)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        load = json.loads(output.strip().splitlines()[-1])
    database.analyze(args.owner)
    load_s = load["seconds"]
    print(
        f"load: {load['projects']:,} projects, {load['participants']:,} participants, "
        f"{load['rejected']:,} rejected, zip {size / 1e6:.1f} MB: {load_s:.1f} s; "
        f"peak memory of the loading process {load['peak_mb']:.0f} MB"
    )
    owner = create_engine(args.owner)
    with owner.connect() as connection:
        tenants = connection.execute(text("SELECT id, slug FROM tenants ORDER BY id")).all()
    owner.dispose()
    total = 0.0
    print(f"{'association':22} {'seconds':>8} {'unrecorded':>11} {'by name':>8} {'unknown':>8}")
    with app.app_context():
        for tenant_id, slug in tenants:
            started = time.perf_counter()
            with tenant_scope(tenant_id):
                lists = (
                    queries.unrecorded(tenant_id),
                    queries.name_suggestions(tenant_id),
                    queries.unknown_grants(tenant_id),
                )
                db.session.rollback()
            elapsed = time.perf_counter() - started
            total += elapsed
            print(f"{slug:22} {elapsed:8.2f} " + " ".join(f"{len(x):>10}" for x in lists))
    print(f"reconciliation of {len(tenants)} associations: {total:.1f} s")
    print(f"load and reconciliation together: {load_s + total:.1f} s (target: under 60 s)")


if __name__ == "__main__":
    main()
