"""``flask --app wsgi crm refresh-metrics [--tenant SLUG] [--enqueue]``."""

from __future__ import annotations

import click
from sqlalchemy import select

from crm.extensions import db
from crm.jobs import Unavailable, queue
from crm.metrics import jobs
from crm.models import Tenant


@click.command("refresh-metrics")
@click.option("--tenant", "slug", default=None, help="One association's figures (default: all).")
@click.option(
    "--enqueue/--now",
    default=False,
    help="Hand the refresh to the rq worker (needs REDIS_URL) instead of running it here.",
)
def refresh_metrics(slug: str | None, enqueue: bool) -> None:
    """Refresh the metric snapshots (alliance-wide, which includes every tenant, or one)."""
    tenant_id = None
    if slug:
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        if tenant_id is None:
            raise click.BadParameter(f"no association {slug!r}", param_hint="--tenant")
        db.session.rollback()  # no transaction left open while the refresh runs
    if enqueue and queue() is None:
        raise click.UsageError("--enqueue needs REDIS_URL")
    try:
        run = jobs.start_refresh(tenant_id, in_process=not enqueue)
    except Unavailable as unavailable:
        raise click.ClickException(f"{unavailable} ({unavailable.run.error})") from None
    if run.joined:
        raise click.ClickException(f"a refresh is already under way (run {run.id})")
    if run.status == "failed":
        raise click.ClickException(f"refresh failed (run {run.id}): {run.error}")
    if enqueue:
        click.echo(f"enqueued run {run.id} (rq job {run.rq_job_id})")
        return
    result = run.result
    click.echo(
        f"run {run.id}: snapshot {result['snapshot_id']} stored "
        f"({result['snapshots']} snapshots, {result['rows']} values, {result['seconds']} s)"
    )


COMMANDS: list = [refresh_metrics]
