"""Fixtures for the members tests: an association with a secretariat user signed in."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from crm.tenancy import tenant_scope
from tests.conftest import expire_all


@pytest.fixture
def assoc(make, session, signed_in):
    """Tenant ``assoc-fr`` (France) with a secretariat user and a signed-in client.

    ``assoc.scalars(query)`` / ``assoc.count(Model)`` read in the tenant's scope
    (outside a scope tenant rows are invisible, and RLS agrees on PostgreSQL).
    """
    tenant = make.tenant(slug="assoc-fr", country="FR", name="Clusters de France")
    user = make.user(tenant, role="secretariat")

    def scalars(query):
        expire_all()  # users are read again in their own scope (RLS on users)
        with tenant_scope(tenant.id):
            return session.scalars(query).all()

    def count(model, *where):
        with tenant_scope(tenant.id):
            return session.scalar(select(func.count()).select_from(model).where(*where))

    return SimpleNamespace(
        tenant=tenant,
        user=user,
        client=signed_in(user),
        url=f"/{tenant.slug}",
        scalars=scalars,
        count=count,
    )
