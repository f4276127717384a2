"""Fixtures for the accounts tests: two associations, signed-in clients, fresh throttle."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm.accounts import throttle
from crm.models import JobRun
from crm.profiles import services as profiles
from crm.tenancy import tenant_scope
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_throttle(app):
    """Failure counters outlive a test (process memory or Redis); start each test clean."""
    throttle.reset_all()
    yield
    throttle.reset_all()


@pytest.fixture
def sign_in(app):
    """``sign_in(user)``: a new test client signed in as ``user``."""

    def do(user, password: str = PASSWORD):
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, f"login failed for {user.email}"
        return client

    return do


def job_run(session, tenant, kind="import") -> JobRun:
    with tenant_scope(tenant.id):
        run = JobRun(kind=kind, tenant_id=tenant.id, status="finished", progress=100)
        session.add(run)
        session.flush()
    return run


@pytest.fixture
def two_tenants(make, session):
    """Tenants A and B, each with one object of every kind and a user per tenant role."""

    def populate(tenant):
        cluster = make.cluster(tenant)
        firm = make.org(tenant)
        make.membership(firm)
        make.cluster_member(cluster, firm)
        contact = make.contact(firm)
        project = make.project(tenant, cluster_id=cluster.id)
        participation = make.participation(project, firm, role="coordinator")
        with tenant_scope(tenant.id):  # a published profile: the one row others may read
            profiles.publish(session, firm, "Machining", "lathes")
        users = {
            "tenant_admin": make.user(tenant, role="tenant_admin"),
            "secretariat": make.user(tenant, role="secretariat"),
            "cluster_manager": make.user(tenant, role="cluster_manager", cluster=cluster),
        }
        run = job_run(session, tenant)
        return SimpleNamespace(
            tenant=tenant,
            cluster=cluster,
            firm=firm,
            contact=contact,
            project=project,
            participation=participation,
            users=users,
            run=run,
            ids={
                "org_id": firm.id,
                "contact_id": contact.id,
                "project_id": project.id,
                "participation_id": participation.id,
                "user_id": users["secretariat"].id,
                "run_id": run.id,
                "batch_id": make.import_batch(tenant).id,
                "mailing_id": make.mailing(tenant).id,
            },
        )

    a = populate(make.tenant(slug="assoc-a"))
    b = populate(make.tenant(slug="assoc-b"))
    # Each posts a partner request and expresses interest in the other's.
    for this in (a, b):
        this.request = make.partner_request(this.firm)
        this.ids["request_id"] = this.request.id
    for this, other in ((a, b), (b, a)):
        this.ids["interest_id"] = make.interest(other.request, this.firm, this.contact).id
    return SimpleNamespace(a=a, b=b)
