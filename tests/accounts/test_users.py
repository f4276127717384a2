"""Tenant admins manage the users of their association."""

from __future__ import annotations

from crm.models import AuditEvent
from tests.accounts.support import refresh_user, tenant_events, user_by_email


def test_users_list_shows_only_this_tenants_users(make, sign_in, count_queries):
    a, b = make.tenant(), make.tenant()
    admin = make.user(a, role="tenant_admin")
    for _ in range(5):
        make.user(a)
    stranger = make.user(b)
    client = sign_in(admin)
    with count_queries() as q:
        response = client.get(f"/{a.slug}/users")
    assert response.status_code == 200
    assert admin.email.encode() in response.data
    assert stranger.email.encode() not in response.data
    assert b"6 results" in response.data
    assert q.count <= 8


def test_only_tenant_admins_manage_users(make, sign_in):
    tenant = make.tenant()
    cluster = make.cluster(tenant)
    users = [make.user(tenant), make.user(tenant, role="cluster_manager", cluster=cluster)]
    for user in users:
        client = sign_in(user)
        assert client.get(f"/{tenant.slug}/users").status_code == 404
        assert client.get(f"/{tenant.slug}/audit").status_code == 404


def test_create_cluster_manager_then_they_set_a_password(make, sign_in, session, client):
    tenant = make.tenant()
    cluster_id = make.cluster(tenant).id  # read before requests expire the object
    admin = make.user(tenant, role="tenant_admin")
    response = sign_in(admin).post(
        f"/{tenant.slug}/users/new",
        data={
            "email": "New.Manager@example.org",
            "name": "New Manager",
            "role": "cluster_manager",
            "cluster_id": str(cluster_id),
        },
    )
    assert response.status_code == 200
    assert b"/reset/" in response.data
    user = user_by_email(session, "New.Manager@example.org")
    assert (user.tenant_id, user.role, user.cluster_id) == (
        tenant.id,
        "cluster_manager",
        cluster_id,
    )
    [created] = tenant_events(
        session, tenant.id, AuditEvent.action == "create", AuditEvent.entity_id == user.id
    )
    assert created.user_id == admin.id and created.entity_type == "users"


def test_another_tenants_cluster_is_a_field_error(make, sign_in, session):
    a, b = make.tenant(), make.tenant()
    foreign_cluster_id = make.cluster(b).id
    admin = make.user(a, role="tenant_admin")
    response = sign_in(admin).post(
        f"/{a.slug}/users/new",
        data={
            "email": "x@example.org",
            "name": "X",
            "role": "cluster_manager",
            "cluster_id": str(foreign_cluster_id),
        },
    )
    assert response.status_code == 422
    assert b"field-error" in response.data
    assert b'value="x@example.org"' in response.data  # nothing typed is lost
    assert user_by_email(session, "x@example.org") is None


def test_new_user_needs_a_unique_email_and_a_cluster_for_managers(make, sign_in):
    tenant = make.tenant()
    admin = make.user(tenant, role="tenant_admin")
    client = sign_in(admin)
    taken = {"email": admin.email.upper(), "name": "Dup", "role": "secretariat"}
    response = client.post(f"/{tenant.slug}/users/new", data=taken)
    assert response.status_code == 422 and b"already exists" in response.data
    no_cluster = {"email": "m@example.org", "name": "M", "role": "cluster_manager"}
    response = client.post(f"/{tenant.slug}/users/new", data=no_cluster)
    assert response.status_code == 422 and b"needs a cluster" in response.data


def test_edit_role_is_audited_as_role_change(make, sign_in, session):
    tenant = make.tenant()
    admin, user = make.user(tenant, role="tenant_admin"), make.user(tenant)
    response = sign_in(admin).post(
        f"/{tenant.slug}/users/{user.id}/edit",
        data={"name": "Promoted", "role": "tenant_admin", "cluster_id": "None"},
    )
    assert response.status_code == 302
    refresh_user(session, user)
    assert (user.name, user.role) == ("Promoted", "tenant_admin")
    [event] = tenant_events(session, tenant.id, AuditEvent.action == "role_change")
    assert event.changes["role"] == ["secretariat", "tenant_admin"]


def test_last_admin_cannot_demote_or_deactivate_themselves(make, sign_in, session):
    tenant = make.tenant()
    admin = make.user(tenant, role="tenant_admin")
    client = sign_in(admin)
    response = client.post(
        f"/{tenant.slug}/users/{admin.id}/edit",
        data={"name": admin.name, "role": "secretariat", "cluster_id": "None"},
    )
    assert response.status_code == 422 and b"last active administrator" in response.data
    response = client.post(f"/{tenant.slug}/users/{admin.id}/deactivate")
    assert response.status_code == 302
    refresh_user(session, admin)
    assert admin.active and admin.role == "tenant_admin"
    # With a second admin, stepping down is fine.
    make.user(tenant, role="tenant_admin")
    client.post(f"/{tenant.slug}/users/{admin.id}/deactivate")
    refresh_user(session, admin)
    assert not admin.active


def test_deactivation_bumps_session_version_and_is_logged(make, sign_in, session):
    tenant = make.tenant()
    admin, user = make.user(tenant, role="tenant_admin"), make.user(tenant)
    sign_in(admin).post(f"/{tenant.slug}/users/{user.id}/deactivate")
    refresh_user(session, user)
    assert not user.active and user.session_version == 2
    assert tenant_events(session, tenant.id, AuditEvent.action == "user_deactivated")
    sign_in(admin).post(f"/{tenant.slug}/users/{user.id}/reactivate")
    refresh_user(session, user)
    assert user.active


def test_other_tenants_user_cannot_be_edited(make, sign_in, session):
    a, b = make.tenant(), make.tenant()
    admin, foreign = make.user(a, role="tenant_admin"), make.user(b)
    client = sign_in(admin)
    assert client.get(f"/{a.slug}/users/{foreign.id}/edit").status_code == 404
    data = {"name": "Hijacked", "role": "tenant_admin"}
    assert client.post(f"/{a.slug}/users/{foreign.id}/edit", data=data).status_code == 404
    assert client.post(f"/{a.slug}/users/{foreign.id}/deactivate").status_code == 404
    refresh_user(session, foreign)
    assert foreign.name != "Hijacked" and foreign.active
