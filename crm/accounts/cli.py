"""``flask --app wsgi crm create-tenant`` and ``create-user`` for operators."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from crm import tenancy
from crm.accounts import services
from crm.accounts.services import AccountError
from crm.extensions import db
from crm.models import Tenant
from crm.models.user import ROLES
from crm.slugs import slug_problem


def _read_password() -> str:
    """Prompt without echo on a terminal; scripts pipe one line on stdin."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def _fail(error: AccountError) -> None:
    # Nothing was committed; the session ends with the command's app context.
    raise click.ClickException(str(error))


@click.command("create-tenant")
@click.option("--slug", required=True, help="Short name used in addresses, e.g. fr-clusters.")
@click.option("--name", required=True)
@click.option("--country", required=True, help="ISO 3166 two-letter code.")
def create_tenant(slug: str, name: str, country: str) -> None:
    """Create an association (tenant)."""
    if len(country.strip()) != 2:
        raise click.BadParameter("two letters, e.g. FR", param_hint="--country")
    if problem := slug_problem(slug.strip().lower()):
        raise click.BadParameter(problem, param_hint="--slug")
    try:
        tenant = services.create_tenant(db.session, slug=slug, name=name, country=country)
    except AccountError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"created tenant {tenant.slug} (id {tenant.id})")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(sorted(ROLES)))
@click.option("--name", default=None, help="Defaults to the part of the e-mail before @.")
@click.option("--tenant", "tenant_slug", default=None, help="Slug; required for tenant roles.")
@click.option("--cluster", "cluster_id", type=int, default=None, help="Cluster organisation id.")
def create_user(email, role, name, tenant_slug, cluster_id) -> None:
    """Create a user; the password is read from standard input."""
    tenant_id = None
    if tenant_slug:
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == tenant_slug))
        if tenant_id is None:
            raise click.BadParameter(f"no tenant {tenant_slug!r}", param_hint="--tenant")
    password = _read_password()
    # The new user's own scope, so that the row can be read back after the commit (RLS).
    with tenancy.tenant_scope(tenancy.scope_of_user(tenant_id)):
        _create_user(email, role, name, tenant_id, cluster_id, password)


def _create_user(email, role, name, tenant_id, cluster_id, password) -> None:
    try:
        user = services.create_user(
            db.session,
            email=email,
            password=password,
            name=name or email.split("@")[0],
            role=role,
            tenant_id=tenant_id,
            cluster_id=cluster_id,
        )
    except AccountError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"created user {user.email} ({user.role}, id {user.id})")


COMMANDS = [create_tenant, create_user]
