"""``flask crm send-reminders [--today YYYY-MM-DD]`` and ``flask crm
send-due-mailings``: what the schedule runs, for operators and tests."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from crm.mailings import jobs


@click.command("send-reminders")
@click.option(
    "--today",
    default=None,
    help="Act as if today were this day (YYYY-MM-DD); default: today.",
)
@click.option("--background", is_flag=True, help="Queue the runs for the worker.")
@with_appcontext
def send_reminders(today: str | None, background: bool) -> None:
    """Send each association's renewal reminders due on TODAY, and lapse the exhausted."""
    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError as error:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--today") from error
    runs = jobs.send_all_reminders(day.isoformat(), in_process=not background)
    for run in runs:
        result = run["result"]
        click.echo(
            f"association {run['tenant_id']}: run {run['run_id']} {run['status']}; "
            f"{result.get('recipients', 0)} reminder(s), {result.get('lapsed', 0)} lapsed"
            + (f"; {run['error']}" if run["error"] else "")
        )
    click.echo(f"{len(runs)} association(s) with reminders on {day.isoformat()}")


@click.command("send-due-mailings")
@with_appcontext
def send_due_mailings() -> None:
    """Start the scheduled mailings whose time has come."""
    click.echo(f"{jobs.send_due_mailings()} mailing(s) started")


COMMANDS = [send_reminders, send_due_mailings]
