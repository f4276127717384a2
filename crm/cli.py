"""``flask --app wsgi crm ...``: operator commands."""

import click
from flask import current_app

from crm import database

crm_cli = click.Group("crm", help="Cluster Alliance CRM operator commands.")


def owner_url() -> str:
    return database.owner_url(current_app.config)


@crm_cli.command("migrate")
@click.option("--revision", default="head", show_default=True)
def migrate(revision: str) -> None:
    """Bring the schema to REVISION (as the owner role)."""
    database.upgrade(owner_url(), revision)
    click.echo(f"schema at {revision}")


@crm_cli.command("grant-roles")
@click.option("--app-role", default=None, help="Defaults to the user in DATABASE_URL.")
@click.option("--metrics-role", default=None, help="Defaults to the user in METRICS_DATABASE_URL.")
@click.option("--create", is_flag=True, help="Create the roles if missing (needs CREATEROLE).")
def grant_roles(app_role, metrics_role, create) -> None:
    """Grant the app role DML and the metrics role its narrow read path (PostgreSQL)."""
    cfg = current_app.config
    app_role = app_role or database.role_of(cfg["SQLALCHEMY_DATABASE_URI"])
    metrics_url = cfg.get("METRICS_DATABASE_URL")
    metrics_role = metrics_role or (database.role_of(metrics_url) if metrics_url else None)
    if not app_role:
        raise click.UsageError("name the app role (--app-role) or put it in DATABASE_URL")
    try:
        database.grant_roles(owner_url(), app_role, metrics_role, create)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    click.echo(
        f"granted: app role {app_role}" + (f", metrics role {metrics_role}" if metrics_role else "")
    )


@crm_cli.command("sweep-runs")
def sweep_runs() -> None:
    """Mark "abandoned" the background runs whose process died or that the queue lost."""
    from crm import jobs

    click.echo(f"{jobs.sweep()} run(s) abandoned")


from crm.accounts.cli import COMMANDS as ACCOUNT_COMMANDS  # noqa: E402
from crm.cordis.cli import COMMANDS as CORDIS_COMMANDS  # noqa: E402
from crm.demo.cli import COMMANDS as DEMO_COMMANDS  # noqa: E402
from crm.downloads.cli import COMMANDS as DOWNLOAD_COMMANDS  # noqa: E402
from crm.imports.cli import COMMANDS as IMPORT_COMMANDS  # noqa: E402
from crm.mailings.cli import COMMANDS as MAILING_COMMANDS  # noqa: E402
from crm.metrics.cli import COMMANDS as METRICS_COMMANDS  # noqa: E402
from crm.profiles.cli import COMMANDS as PROFILE_COMMANDS  # noqa: E402

for _command in (
    ACCOUNT_COMMANDS
    + CORDIS_COMMANDS
    + DEMO_COMMANDS
    + DOWNLOAD_COMMANDS
    + IMPORT_COMMANDS
    + MAILING_COMMANDS
    + METRICS_COMMANDS
    + PROFILE_COMMANDS
):
    crm_cli.add_command(_command)
