"""``flask --app wsgi crm seed-demo``: the 13 associations with demo data, at any scale."""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine, func, select

from crm import database
from crm.accounts.passwords import hash_password
from crm.demo.cordis import load_demo_cordis
from crm.demo.generate import DEMO_PASSWORD, TENANT_TABLE_ORDER, Generator
from crm.demo.load import Ids, load_shared, load_tenant, load_users
from crm.demo.requests import seed_requests
from crm.extensions import db
from crm.metrics.cli import refresh_metrics
from crm.models import Tenant
from crm.profiles.cli import publish_visible

DEFAULT_SCALE = 0.02


def seed(
    engine, owner_engine, scale: float, seed_value: int, today: date, echo=lambda _m: None
) -> tuple[dict[str, int], list[tuple[str, str, str | None]]]:
    """Generate and load the demo; return row counts per table and the demo logins.

    The associations are written as the owner (the app role only reads them),
    everything else as the app role, under row-level security."""
    generator = Generator(seed_value, scale, today, Ids(engine))
    counts: dict[str, int] = {}
    load_shared(owner_engine, generator.tenants(), counts)
    for slug, tenant_id in generator.tenant_ids.items():
        load_tenant(engine, tenant_id, generator.organisations(slug), counts)
        echo(f"  {slug}: organisations loaded")
    for slug, batch in generator.projects().items():
        load_tenant(engine, generator.tenant_ids[slug], batch, counts)
    echo("  projects loaded")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crm-demo-cordis-") as directory:
        counts.update(load_demo_cordis(owner_engine, generator, Path(directory)))
    echo(f"  CORDIS sample written and loaded in {time.perf_counter() - started:.1f} s")
    users, logins = generator.users(hash_password(DEMO_PASSWORD))  # hashed once: argon2 is slow
    load_users(engine, users, counts)
    for slug, batch in generator.audit_events().items():
        load_tenant(engine, generator.tenant_ids[slug], batch, counts)
    return counts, logins


@click.command("seed-demo")
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True, max=5),
    default=DEFAULT_SCALE,
    show_default=True,
    help="1 = alliance size (740+ clusters, 134,000 firms, 20,000+ projects).",
)
@click.option("--seed", "seed_value", type=int, default=2026, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when associations already exist.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the demo is built around (default: today); fixes dates for reproducible runs.",
)
@click.option(
    "--metrics/--no-metrics",
    default=True,
    show_default=True,
    help="Refresh the metric snapshots after loading (crm refresh-metrics), so figures show.",
)
@with_appcontext
def seed_demo(scale: float, seed_value: int, if_empty: bool, today, metrics: bool) -> None:
    """Load demo data for the 13 associations (deterministic for a seed)."""
    existing = db.session.scalar(select(func.count()).select_from(Tenant))
    db.session.remove()
    if existing:
        if if_empty:
            click.echo(f"{existing} associations exist already: demo data not loaded")
            return
        raise click.ClickException(
            "the database already has associations; seed-demo loads into an empty database"
        )
    started = time.perf_counter()
    day = today.date() if today else date.today()
    click.echo(f"seeding demo data: scale {scale:g}, seed {seed_value}, today {day}")
    owner_engine = create_engine(database.owner_url(current_app.config))
    try:
        counts, logins = seed(db.engine, owner_engine, scale, seed_value, day, click.echo)
    finally:
        owner_engine.dispose()
    _publish_profiles()
    _seed_requests(seed_value, scale, day)
    # Statistics last, once the profiles and requests are in: the partner search's
    # plans (an index scan for a deep page, not a sort of 85,000 rows) depend on them.
    database.analyze(database.owner_url(current_app.config))
    elapsed = time.perf_counter() - started
    click.echo(f"done in {elapsed:.1f} s")
    click.echo("rows per table:")
    tables = ["tenants", *TENANT_TABLE_ORDER, "users", "audit_events"]
    for table in [*tables, "cordis_projects", "cordis_participants"]:
        click.echo(f"  {table:<28}{counts.get(table, 0):>10,}")
    click.echo(f"  {'total':<28}{sum(counts.values()):>10,}")
    click.echo(f"demo logins (password {DEMO_PASSWORD}), one per role:")
    shown: set[str] = set()
    for email, role, _slug in logins:
        if role not in shown:
            shown.add(role)
            click.echo(f"  {role:<18}{email}")
    click.echo("  every association has admin@, secretariat@ and manager@<slug>.example.org")
    if metrics:
        _refresh_metrics()


def _publish_profiles() -> None:
    """Publish the partner profiles of the organisations the demo marks visible
    (``crm publish-visible``), so the alliance partner search has something to find."""
    db.session.remove()
    click.get_current_context().invoke(publish_visible)


def _seed_requests(seed_value: int, scale: float, day: date) -> None:
    """Partner requests with interests and matches, between the published organisations."""
    db.session.remove()
    counts = seed_requests(db.session, seed_value, scale, day)
    click.echo("partner requests: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))


def _refresh_metrics() -> None:
    """Run ``crm refresh-metrics`` in-process; the demo stands even if it fails."""
    db.session.remove()
    try:
        click.get_current_context().invoke(refresh_metrics)
    except Exception as exc:  # reported; the demo data is in either way
        db.session.remove()
        click.echo(f"metrics not refreshed ({exc}); run: flask --app wsgi crm refresh-metrics")


COMMANDS = [seed_demo]
