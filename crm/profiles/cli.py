"""``flask crm publish-visible``: publish the partner profiles of the
organisations marked visible to the alliance (the demo marks some)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from crm.extensions import db
from crm.models import Tenant
from crm.profiles import services
from crm.tenancy import all_tenants, tenant_scope


@click.command("publish-visible")
@click.option("--tenant", "slug", default=None, help="Only this association (slug).")
@with_appcontext
def publish_visible(slug: str | None) -> None:
    """Publish every organisation marked visible and not yet published, per association."""
    with all_tenants():
        query = select(Tenant.id, Tenant.slug).order_by(Tenant.id)
        if slug:
            query = query.where(Tenant.slug == slug)
        tenants = db.session.execute(query).all()
    db.session.commit()
    if slug and not tenants:
        raise click.UsageError(f"no association {slug!r}")
    for tenant_id, tenant_slug in tenants:
        with tenant_scope(tenant_id):
            count = services.publish_visible(db.session)
            db.session.commit()
        click.echo(f"{tenant_slug}: {count} profiles published")


COMMANDS = [publish_visible]
