"""``flask --app wsgi crm cordis load PATH``: load the CORDIS bulk export."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from crm.cordis.jobs import load_job
from crm.jobs import Unavailable, start_run

cordis_cli = click.Group("cordis", help="CORDIS reference data (the EU's published grants).")


@cordis_cli.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--background", is_flag=True, help="Queue it for the worker instead of loading it now."
)
@with_appcontext
def load(paths: tuple[str, ...], background: bool) -> None:
    """Load PATHS: the export's zip, its folder, or project.csv and organization.csv."""
    try:
        run = start_run(
            "cordis",
            load_job,
            [str(p) for p in paths],
            tenant_id=None,
            message="loading the CORDIS export",
            in_process=not background,
        )
    except Unavailable as unavailable:
        raise click.ClickException(str(unavailable)) from unavailable
    if background:
        click.echo(f"queued as run {run.id}")
        return
    if run.status != "finished":
        raise click.ClickException(run.error or f"the load ended {run.status}")
    result = run.result or {}
    click.echo(
        f"loaded {result.get('projects', 0):,} projects and "
        f"{result.get('participants', 0):,} participants; "
        f"{result.get('rejected', 0):,} rows left out"
    )
    for row in (result.get("rejected_rows") or [])[:20]:
        click.echo(f"  {row['file']} line {row['line']}: {row['reason']}")


COMMANDS = [cordis_cli]
