"""Contacts list and bulk tag benchmark, on PostgreSQL at scale 1.

Not a test: a script that prints figures. Like ``tests.benchmarks.directory``
it drives the real app in-process as the secretariat of the largest
association, connected as the application role (row-level security on):

* the contacts list's pages: median and p95 from the WSGI call to the last
  byte, and the SQL statements of each;
* a bulk tag of every organisation matching ``--bulk-filters`` (about 10,000
  micro firms of the largest association at scale 1) through ``POST /bulk``,
  run as its job in-process (no Redis): the time of the whole request, then of
  the same request again (every row already tagged). The tag is deleted at the
  end (its links go with it); its audit events stay.

    .venv/bin/python -m tests.benchmarks.segments \\
        --owner postgresql://postgres@127.0.0.1/crm_wt_segments_s1 \\
        --app postgresql://crm_app@127.0.0.1/crm_wt_segments_s1 [-n 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sqlalchemy import create_engine, text

from tests.benchmarks.common import print_pages, time_pages
from tests.benchmarks.directory import pick_subject
from tests.clients import client_as

BULK_FILTERS = "kind=firm&size=micro"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owner", required=True, help="owner URL (picks the subject)")
    parser.add_argument("--app", required=True, help="application-role URL (RLS applies)")
    parser.add_argument("-n", "--repeat", type=int, default=40)
    parser.add_argument("--bulk-filters", default=BULK_FILTERS)
    return parser.parse_args()


def contact_values(owner_url: str, tenant_id: int) -> dict:
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        last_name, total = connection.execute(
            text(
                "SELECT last_name, (SELECT count(*) FROM contacts WHERE tenant_id = :t) "
                "FROM contacts WHERE tenant_id = :t ORDER BY id "
                "OFFSET (SELECT count(*) / 2 FROM contacts WHERE tenant_id = :t) LIMIT 1"
            ),
            {"t": tenant_id},
        ).one()
        ecosystem = connection.execute(
            text(
                "SELECT ecosystem_id FROM organisation_ecosystems WHERE tenant_id = :t "
                "GROUP BY ecosystem_id ORDER BY count(*) DESC LIMIT 1"
            ),
            {"t": tenant_id},
        ).scalar_one()
    engine.dispose()
    return {"last_name": last_name, "contacts": total, "ecosystem": ecosystem}


def make_app(app_url: str):
    from crm import create_app

    return create_app(
        {
            "ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": app_url,
            "SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
            "REDIS_URL": None,
        }
    )


def pages(app, subject: dict, values: dict, repeat: int) -> list[tuple]:
    from crm.extensions import db

    slug = subject["slug"]
    deep = max(1, int(values["contacts"] / app.config["PAGE_SIZE"] * 0.9))
    scenarios = [
        ("contacts: first page", f"/{slug}/contacts"),
        ("contacts: 200 per page", f"/{slug}/contacts?per_page=200"),
        (f"contacts: search '{values['last_name']}'", f"/{slug}/contacts?q={values['last_name']}"),
        ("contacts: role = management", f"/{slug}/contacts?role=management"),
        (
            "contacts: SMEs in the largest ecosystem",
            f"/{slug}/contacts?size=sme&ecosystem={values['ecosystem']}",
        ),
        (f"contacts: deep page ({deep})", f"/{slug}/contacts?page={deep}"),
        ("contacts: sorted by organisation", f"/{slug}/contacts?sort=organisation"),
        ("directory: with a contact of a role", f"/{slug}/members?contact_role=research"),
        ("directory: in projects of HE", f"/{slug}/members?programme=HE"),
    ]
    results = []
    with app.app_context():
        client = client_as(app, subject["user_identity"])
        timings, statements = time_pages(client, db.engine, scenarios, repeat)
        for label, _ in scenarios:
            times = sorted(timings[label])
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            results.append((label, statistics.median(times), p95, sorted(statements[label])))
        db.session.remove()
    return results


def bulk_tag(app, subject: dict, filters: str) -> None:
    from sqlalchemy import select

    from crm.extensions import db
    from crm.models import JobRun, Tag
    from crm.tenancy import tenant_scope

    slug, name = subject["slug"], f"Benchmark {int(time.time())}"
    with app.app_context():
        client = client_as(app, subject["user_identity"])
        data = {
            "source": "members",
            "filters": filters,
            "all_matching": "y",
            "action": "tag",
            "tag": name,
        }
        for attempt in ("first run", "again (all tagged)"):
            start = time.perf_counter()
            response = client.post(f"/{slug}/bulk", data=data)
            elapsed = time.perf_counter() - start
            assert response.status_code == 302, response.status_code
            with tenant_scope(subject["tenant_id"]):
                run = db.session.scalar(
                    select(JobRun).where(JobRun.kind == "bulk").order_by(JobRun.id.desc())
                )
                print(
                    f"bulk tag ({filters}), {attempt}: {elapsed:.2f} s for the request, "
                    f"run {run.status}, {run.result['changed']:,} of {run.result['total']:,} "
                    f"tagged; job {(run.finished_at - run.started_at).total_seconds():.2f} s"
                )
        with tenant_scope(subject["tenant_id"]):
            db.session.delete(db.session.scalar(select(Tag).where(Tag.name == name)))
            db.session.commit()
        db.session.remove()


def main() -> None:
    args = arguments()
    subject = pick_subject(args.owner)
    values = contact_values(args.owner, subject["tenant_id"])
    print(
        f"association {subject['slug']}: {subject['total']:,} current organisations, "
        f"{values['contacts']:,} contacts; {args.repeat} timed rounds after 3 warm-up rounds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    app = make_app(args.app)
    print_pages(pages(app, subject, values, args.repeat))
    bulk_tag(app, subject, args.bulk_filters)


if __name__ == "__main__":
    main()
