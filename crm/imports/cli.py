"""``flask --app wsgi crm purge-imports``: delete the import files past their retention."""

from __future__ import annotations

import click
from sqlalchemy import select

from crm.extensions import db
from crm.imports import batches
from crm.models import Tenant
from crm.tenancy import sync_database_tenant, tenant_scope


@click.command("purge-imports")
def purge_imports() -> None:
    """Delete the files of every association's imports uploaded more than
    IMPORT_RETENTION_DAYS ago (each association in its own scope and transaction,
    so row-level security holds; the batches and their reports stay)."""
    tenant_ids = db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all()
    total = 0
    for tenant_id in tenant_ids:
        with tenant_scope(tenant_id):
            sync_database_tenant(db.session)
            total += batches.purge_expired(tenant_id)
            db.session.commit()
    click.echo(f"deleted the files of {total} import(s)")


COMMANDS = [purge_imports]
