"""``flask --app wsgi crm purge-exports``: delete the export files whose link has expired."""

from __future__ import annotations

import click


@click.command("purge-exports")
def purge_exports() -> None:
    """Delete every association's background export files past their expiry
    (EXPORT_FILE_HOURS after they were built); the nightly schedule does the same."""
    from crm.downloads.exports import purge_expired_exports

    click.echo(f"deleted {purge_expired_exports()} expired export file(s)")


COMMANDS = [purge_exports]
