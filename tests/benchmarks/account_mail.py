"""Account mail and the outbox, measured on a migrated SQLite file (or any URL).

    .venv/bin/python -m tests.benchmarks.account_mail [--url sqlite:///...] [-n 40]

1. "Forgot password?" for a known and an unknown address, through a real
   in-process SMTP server: the time until the answer is written (what the
   client sees) and until the work after it (lookup, link, mail) is done.
2. The outbox of an association holding 10,000 messages: list, search and one
   message, median and p95, and the statements each costs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from crm import create_app, database
from crm.accounts import services
from crm.extensions import db
from crm.models import OutboxMessage
from crm.models.base import utcnow
from crm.tenancy import alliance_scope, tenant_scope
from tests.benchmarks.common import counted_statements
from tests.smtp import running_server

MESSAGES = 10_000


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="a migrated database (default: a new SQLite file)")
    parser.add_argument("-n", "--repeat", type=int, default=40)
    args = parser.parse_args()
    url = args.url
    if not url:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
        database.upgrade(url)
    controller, inbox = running_server()
    app = create_app(
        {
            "ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret-key-bench-secret-key-0123",
            "SMTP_URL": inbox.url,
            "FORGOT_PASSWORD_PER_CLIENT": "100000 per minute",
            "FORGOT_PASSWORD_PER_ADDRESS": "100000 per minute",
        }
    )
    with app.app_context():
        with alliance_scope():
            tenant = services.create_tenant(db.session, slug="bench", name="Bench", country="FR")
        services.create_user(
            db.session, email="admin@bench.example.org", password="a long enough password",
            name="Admin", role="tenant_admin", tenant_id=tenant.id,
        )  # fmt: skip
        services.create_user(
            db.session, email="known@bench.example.org", name="Known", role="secretariat",
            tenant_id=tenant.id,
        )  # fmt: skip
        db.session.commit()
        tenant_id, slug = tenant.id, tenant.slug
        with tenant_scope(tenant_id):
            now = utcnow()
            rows = [
                {
                    "tenant_id": tenant_id,
                    "sender": "office@bench.example.org",
                    "recipient": f"person{i}@member{i % 500}.example.org",
                    "subject": f"Renewal {i}",
                    "body": "Dear member,\n" * 20,
                    "headers": {"Message-ID": f"<{i}@bench>"},
                    "created_at": now,
                }  # fmt: skip
                for i in range(MESSAGES)
            ]
            db.session.execute(insert(OutboxMessage), rows)
            db.session.commit()
    client = app.test_client()

    print(f"database: {url.split(':')[0]}, {args.repeat} rounds after 3 warm-up rounds")
    answered, finished = {"known": [], "unknown": []}, {"known": [], "unknown": []}
    for round_ in range(args.repeat + 3):
        for who, email in (("known", "known@bench.example.org"), ("unknown", "nobody@x.org")):
            start = time.perf_counter()
            response = client.post("/forgot-password", data={"email": email}, buffered=False)
            body = b"".join(response.response)
            middle = time.perf_counter()
            response.close()  # the work after the answer
            end = time.perf_counter()
            assert response.status_code == 200 and b"If an account exists" in body
            if round_ >= 3:
                answered[who].append(middle - start)
                finished[who].append(end - start)
    print(f"{'forgot password':28} {'answer median/p95 ms':>22} {'with the work after':>22}")
    for who in ("known", "unknown"):
        a, f = _ms(answered[who]), _ms(finished[who])
        print(f"{who + ' address':28} {a[0]:10.1f} / {a[1]:7.1f} {f[0]:12.1f} / {f[1]:7.1f}")
    print(f"messages received by the SMTP server: {len(inbox.messages)}")

    signed = client.post(
        "/login", data={"email": "admin@bench.example.org", "password": "a long enough password"}
    )
    assert signed.status_code == 302, "sign-in failed"
    pages = [
        ("outbox, page 1 of 200", f"/{slug}/outbox"),
        ("outbox, page 150", f"/{slug}/outbox?page=150"),
        ("outbox, search 'member42.'", f"/{slug}/outbox?q=member42."),
        ("one message", f"/{slug}/outbox/{MESSAGES // 2}"),
    ]
    with app.app_context():
        engine = db.engine
    times = {label: [] for label, _ in pages}
    statements = {label: set() for label, _ in pages}
    with counted_statements(engine) as counter:
        for round_ in range(args.repeat + 3):
            for label, path in pages:
                counter["n"] = 0
                start = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - start
                assert response.status_code == 200, (path, response.status_code)
                if round_ >= 3:
                    times[label].append(elapsed)
                    statements[label].add(counter["n"])
    print(f"{'page (10,000 messages)':28} {'median ms':>10} {'p95 ms':>8} {'statements':>11}")
    for label, _ in pages:
        median, p95 = _ms(times[label])
        shown = ", ".join(str(s) for s in sorted(statements[label]))
        print(f"{label:28} {median:10.1f} {p95:8.1f} {shown:>11}")
    controller.stop()


if __name__ == "__main__":
    main()
