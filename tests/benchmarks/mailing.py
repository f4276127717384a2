"""Mailing benchmark: a 5,000-recipient mailing through a real rq worker and a
local SMTP server, on PostgreSQL with row-level security.

Not a test (no ``test_`` prefix): a script that prints figures. It makes a fresh
database (migrated, roles granted), one association with 1,000 firms of five
contacts each (a few opted out, so the consent rule is in the SELECT), starts
an aiosmtpd server in this process, has the app create the mailing and enqueue
its sending, then runs the documented worker class (``SimpleWorker`` in a
separate process, connected as the application role) until the queue is
empty. The job's own time comes from its ``job_runs`` row; the wall time adds
the worker's start.

    .venv/bin/python -m tests.benchmarks.mailing \\
        --owner postgresql://postgres@127.0.0.1/crm_bench_mailing \\
        --app postgresql://crm_app@127.0.0.1/crm_bench_mailing \\
        --redis redis://127.0.0.1:6379/3 [--recipients 5000] [--rate 0] [--repeat 1]

``--rate`` is MAILING_RATE_PER_SECOND (0: unpaced, to measure the machinery;
the default setting, 10 a second, would make any 5,000 take 500 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

SECRET = "benchmark-secret-key-benchmark-secret-key"
PER_ORG = 5


def app_config(app_url: str, redis_url: str, smtp_url: str, rate: float) -> dict:
    return {
        "ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": app_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "SMTP_URL": smtp_url,
        "MAILING_RATE_PER_SECOND": rate or None,
        "BASE_URL": "https://crm.example.org",
    }


def fresh_database(owner_url: str) -> None:
    from crm import database

    name = make_url(owner_url).database
    maintenance = create_engine(
        make_url(owner_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with maintenance.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    maintenance.dispose()
    database.upgrade(owner_url)
    database.grant_roles(owner_url, "crm_app", "crm_metrics", create=True)


def seed(owner_url: str, recipients: int) -> int:
    """One association, ``recipients`` contacts who may receive membership mail and
    1 in 50 more who refused it; its id. Bulk inserts as the owner."""
    from crm.models import Contact, EmailConsent, Organisation, Tenant

    engine = create_engine(owner_url)
    total = recipients + recipients // 50
    orgs = -(-total // PER_ORG)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        tenant_id = connection.execute(
            insert(Tenant)
            .values(slug="bench-mail", name="Benchmark Association", country="FR", created_at=now)
            .returning(Tenant.id)  # fmt: skip
        ).scalar_one()
        connection.execute(
            insert(Organisation),
            [
                {
                    "tenant_id": tenant_id,
                    "kind": "firm",
                    "name": f"Firm {n:05d}",
                    "country": "FR",
                    "archived": False,
                    "discoverable": False,
                    "is_startup": False,
                    "is_external": False,
                    "created_at": now,
                    "updated_at": now,
                }  # fmt: skip
                for n in range(orgs)
            ],
        )
        org_ids = connection.scalars(
            select(Organisation.id).where(Organisation.tenant_id == tenant_id).order_by("id")
        ).all()
        connection.execute(
            insert(Contact),
            [
                {
                    "tenant_id": tenant_id,
                    "organisation_id": org_ids[n // PER_ORG],
                    "first_name": f"First{n}",
                    "last_name": "Bench",
                    "email": f"c{n}@bench.example",
                    "is_primary": n % PER_ORG == 0,
                    "consent_given": False,
                    "created_at": now,
                    "updated_at": now,
                }  # fmt: skip
                for n in range(total)
            ],
        )
        refusing = connection.scalars(
            select(Contact.id).where(Contact.tenant_id == tenant_id).order_by("id")
        ).all()[recipients:]
        connection.execute(
            insert(EmailConsent),
            [
                {
                    "tenant_id": tenant_id,
                    "contact_id": c,
                    "purpose": "membership",
                    "granted": False,
                    "source": "contact",
                    "changed_at": now,
                }  # fmt: skip
                for c in refusing
            ],
        )
    engine.dispose()
    return tenant_id


def enqueue(args, tenant_id: int, smtp_url: str) -> int:
    """The app creates the mailing and enqueues its sending; the mailing's id."""
    from crm import create_app
    from crm.extensions import db
    from crm.mailings import audience, services
    from crm.models import Tenant
    from crm.tenancy import tenant_scope

    app = create_app(app_config(args.app, args.redis, smtp_url, args.rate))
    with app.app_context(), tenant_scope(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        fields = services.MailingFields(
            name="Benchmark",
            purpose="membership",
            subject="News for {{ organisation }}",
            body="Dear {{ contact.first_name }},\n\n{{ organisation }}: paid until "
            "{{ renewal_date }}.\n\n{{ association }}\n",
        )
        mailing = services.create_mailing(db.session, tenant, fields, audience.from_args({}), None)
        services.send_now(db.session, mailing)
        db.session.commit()
        services.start_sending(db.session, mailing, None)
        mailing_id = mailing.id
    return mailing_id


def worker_main(app_url: str, redis_url: str, smtp_url: str, rate: str) -> None:
    from rq import Queue, SimpleWorker

    from crm import create_app
    from crm.jobs import QUEUE_NAME

    app = create_app(app_config(app_url, redis_url, smtp_url, float(rate)))
    with app.app_context():
        connection = app.extensions["crm.redis"]
        SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
            burst=True, logging_level="WARNING"
        )
    print(json.dumps({"ok": True}))


def outcome(owner_url: str, mailing_id: int) -> dict:
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT r.status, extract(epoch FROM r.finished_at - r.started_at) AS seconds "
                "FROM mailings m JOIN job_runs r ON r.id = m.run_id WHERE m.id = :id"
            ),
            {"id": mailing_id},
        ).one()
        counts = dict(
            connection.execute(
                text(
                    "SELECT status, count(*) FROM mailing_recipients WHERE mailing_id = :id "
                    "GROUP BY status"
                ),
                {"id": mailing_id},
            ).all()
        )
    engine.dispose()
    return {"run": row.status, "job_seconds": float(row.seconds), "counts": counts}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owner", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    from redis import Redis

    from tests.smtp import running_server

    for attempt in range(args.repeat):
        fresh_database(args.owner)
        tenant_id = seed(args.owner, args.recipients)
        Redis.from_url(args.redis).flushdb()
        controller, inbox = running_server()
        try:
            mailing_id = enqueue(args, tenant_id, inbox.url)
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tests.benchmarks.mailing",
                    "--worker",
                    args.app,
                    args.redis,
                    inbox.url,
                    str(args.rate),
                ],  # fmt: skip
                check=True,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - start
        finally:
            controller.stop()
        result = outcome(args.owner, mailing_id)
        delivered = len(inbox.messages)
        unique = len({m["To"] for m in inbox.messages})
        print(
            f"run {attempt + 1}: {args.recipients:,} recipients, rate "
            f"{args.rate or 'unpaced'}: job {result['job_seconds']:.1f} s "
            f"({delivered / result['job_seconds']:.0f} msgs/s), wall {wall:.1f} s; "
            f"delivered {delivered:,} ({unique:,} distinct); recipients {result['counts']}; "
            f"run {result['run']}"
        )
        Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
