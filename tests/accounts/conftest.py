"""Fixtures for the accounts tests: two associations, signed-in clients, fresh throttle."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm.accounts import forgotten, throttle
from crm.models import JobRun, OutboxMessage
from crm.profiles import services as profiles
from crm.tenancy import tenant_scope
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_throttle(app):
    """Failure counters and rate limits outlive a test (process memory or Redis);
    start each test clean."""
    throttle.reset_all()
    forgotten.reset_all()
    yield
    throttle.reset_all()
    forgotten.reset_all()


@pytest.fixture
def sign_in(app):
    """``sign_in(user)``: a new test client signed in as ``user``."""

    def do(user, password: str = PASSWORD):
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, f"login failed for {user.email}"
        return client

    return do


def outbox_message(session, tenant) -> OutboxMessage:
    """A message in the tenant's outbox, as the transport stores one without SMTP."""
    with tenant_scope(tenant.id):
        message = OutboxMessage(
            sender="office@example.org",
            recipient=f"someone@{tenant.slug}.example.org",
            subject=f"Private to {tenant.slug}",
            body="Dear someone,\n",
            headers={},
        )
        session.add(message)
        session.flush()
    return message


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
        membership = make.membership(firm)
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
        tag = make.tag(tenant, name="Board")
        make.tagged(tag, firm, contact)
        segment = make.segment(tenant, filters={"kind": "firm", "tag": str(tag.id)})
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
                "segment_id": segment.id,
                "tag_id": tag.id,
                "payment_id": make.payment(membership).id,
                "activity_id": make.activity(firm, contact=contact).id,
                "message_id": outbox_message(session, tenant).id,
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
