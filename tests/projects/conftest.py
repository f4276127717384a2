"""Fixtures for the projects tests: an association with a cluster, its members,
a second cluster, and a signed-in client per role."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm.accounts import throttle
from crm.extensions import db
from crm.tenancy import tenant_scope

CROSSTENANT = "crm.crosstenant_engine"


@pytest.fixture(autouse=True)
def _fresh_state(app):
    """Fresh throttle counters; the cross-tenant engine a test opened is disposed."""
    throttle.reset_all()
    yield
    throttle.reset_all()
    engine = app.extensions.pop(CROSSTENANT, None)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def world(make):
    """Tenant with cluster A (two member firms and a university), cluster B
    (one member firm), an outsider firm, and a user per role."""
    tenant = make.tenant(slug="assoc-p", country="FR")
    cluster = make.cluster(tenant, name="Cluster Alpha")
    other_cluster = make.cluster(tenant, name="Cluster Beta")
    firm1 = make.org(tenant, name="Alpha Firm One", employees=12, turnover_eur=1_000_000)
    firm2 = make.org(tenant, name="Alpha Firm Two")
    uni = make.org(tenant, kind="university", name="Alpha University")
    beta_firm = make.org(tenant, name="Beta Firm")
    outsider = make.org(tenant, name="Outsider Firm")
    for member in (firm1, firm2, uni):
        make.cluster_member(cluster, member)
    make.cluster_member(other_cluster, beta_firm)
    users = SimpleNamespace(
        admin=make.user(tenant, role="tenant_admin"),
        secretariat=make.user(tenant, role="secretariat"),
        manager=make.user(tenant, role="cluster_manager", cluster=cluster),
        other_manager=make.user(tenant, role="cluster_manager", cluster=other_cluster),
    )
    # The test reads its objects back as this tenant (RLS on PostgreSQL hides
    # them otherwise once a request has expired them); requests run in their
    # own context and are not affected.
    with tenant_scope(tenant.id):
        yield SimpleNamespace(
            tenant=tenant,
            cluster=cluster,
            other_cluster=other_cluster,
            firm1=firm1,
            firm2=firm2,
            uni=uni,
            beta_firm=beta_firm,
            outsider=outsider,
            users=users,
        )


def project_form(**overrides) -> dict:
    """A valid project form submission."""
    data = {
        "programme_code": "HE",
        "call_id": "HORIZON-CL4-2024-01",
        "grant_number": "GA 101 070 123",
        "acronym": "GREENLOOP",
        "title": "Circular plastics for regional manufacturing",
        "start_date": "2024-01-01",
        "end_date": "2026-12-31",
        "status": "proposal",
        "status_changed_on": "2023-10-01",
        "total_budget": "1000000",
        "eu_contribution": "",
        "description": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def url(world, path: str) -> str:
    return f"/{world.tenant.slug}{path}"


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)
