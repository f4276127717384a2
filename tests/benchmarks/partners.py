"""Partner search benchmark: server time and SQL statements per page, on PostgreSQL at scale 1.

Not a test: a script that prints figures. It drives the real app in-process
(Flask test client) as the secretariat of one association, connected as the
application role (row-level security on), and times each request from the
WSGI call to the last byte: typical searches of the alliance's published
profiles, and the suggested partners of that association's proposals.

    .venv/bin/python -m tests.benchmarks.partners \\
        --owner postgresql://postgres@127.0.0.1/crm_bench_profiles \\
        --app postgresql://crm_app@127.0.0.1/crm_bench_profiles [-n 40]

The database is a scale-1 demo migrated to head whose visible organisations
are published (``flask crm publish-visible``).
"""

from __future__ import annotations

import os
import statistics

from sqlalchemy import create_engine, text

from tests.benchmarks.common import page_arguments, print_pages, secretariat_of, time_pages
from tests.clients import client_as


def pick_subject(owner_url: str) -> dict:
    """The association with the most proposals, its secretariat, a few of its
    proposals, and realistic query values from other associations' profiles."""
    engine = create_engine(owner_url)
    with engine.connect() as connection:
        tenant_id, slug = connection.execute(
            text(
                "SELECT t.id, t.slug FROM projects p JOIN tenants t ON t.id = p.tenant_id "
                "WHERE p.status IN ('proposal', 'submitted') GROUP BY t.id, t.slug "
                "ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        user = secretariat_of(connection, tenant_id)
        proposals = (
            connection.execute(
                text(
                    "SELECT id FROM projects WHERE tenant_id = :t AND status IN "
                    "('proposal', 'submitted') ORDER BY id LIMIT 10"
                ),
                {"t": tenant_id},
            )
            .scalars()
            .all()
        )
        total = connection.execute(text("SELECT count(*) FROM partner_profiles")).scalar_one()
        accented = connection.execute(
            text(
                "SELECT city FROM partner_profiles WHERE city ~ '[^[:ascii:]]' "
                "GROUP BY city ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
        name = connection.execute(
            text("SELECT name FROM partner_profiles ORDER BY id OFFSET :o LIMIT 1"),
            {"o": total // 2},
        ).scalar_one()
        eco = connection.execute(
            text("SELECT code FROM ecosystems ORDER BY id LIMIT 1")
        ).scalar_one()
        # The association's own request with the most interests (answered on its page).
        own_request = connection.execute(
            text(
                "SELECT r.id FROM partner_requests r LEFT JOIN partner_interests i "
                "ON i.request_id = r.id WHERE r.tenant_id = :t GROUP BY r.id "
                "ORDER BY count(i.id) DESC, r.id LIMIT 1"
            ),
            {"t": tenant_id},
        ).scalar()
    engine.dispose()
    word = max(name.split(), key=len)
    return {
        "slug": slug,
        "total": total,
        "user_identity": f"{user.id}:{user.session_version}:{tenant_id}",
        "proposals": proposals,
        "accented": accented,
        "word": word,
        "ecosystem": eco,
        "own_request": own_request,
    }


def _fold(value: str) -> str:
    from crm.folding import fold

    return fold(value)


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
    slug, word = subject["slug"], subject["word"]
    deep = max(1, int(subject["total"] / 20 * 0.9))
    typo = word[:-2] + word[-1] + word[-2]  # the last two letters swapped
    base = f"/{slug}/partners"
    scenarios = [
        (f"text '{word}'", f"{base}?q={word}"),
        (f"text + filters '{word}' firm", f"{base}?q={word}&kind=firm&country=FR"),
        (f"accent-free '{_fold(subject['accented'])}'", f"{base}?q={_fold(subject['accented'])}"),
        (f"typo '{typo}'", f"{base}?q={typo}"),
        ("filters only", f"{base}?kind=university&ecosystem={subject['ecosystem']}&programme=HE"),
        (f"deep page ({deep})", f"{base}?page={deep}"),
        ("partner requests (open)", f"/{slug}/requests"),
        ("partner requests (ours)", f"/{slug}/requests?mine=1"),
    ]
    if subject["own_request"]:
        scenarios.append(("own request page", f"/{slug}/requests/{subject['own_request']}"))
    scenarios += [
        (f"suggestions #{i}", f"/{slug}/projects/{pid}/suggestions")
        for i, pid in enumerate(subject["proposals"])
    ]
    results = []
    with app.app_context():
        engine = db.engine
        client = client_as(app, subject["user_identity"])
        timings, statements = time_pages(client, engine, scenarios, repeat)
        suggestions = sorted(
            x for label, ts in timings.items() if label.startswith("sugg") for x in ts
        )
        for label, _ in scenarios:
            if label.startswith("suggestions"):
                continue
            results.append((label, *_stats(timings[label]), sorted(statements[label])))
        counts = sorted(
            {n for label, s in statements.items() if label.startswith("sugg") for n in s}
        )
        results.append(
            (f"suggestions ({len(subject['proposals'])} proposals)", *_stats(suggestions), counts)
        )
        db.session.remove()
        engine.dispose()
    return results


def _stats(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def main() -> None:
    args = page_arguments(__doc__.splitlines()[0])
    subject = pick_subject(args.owner)
    print(
        f"association {subject['slug']}: {subject['total']:,} published profiles in the alliance; "
        f"{args.repeat} timed rounds after 3 warm-up rounds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print_pages(run(args.app, subject, args.repeat))


if __name__ == "__main__":
    main()
