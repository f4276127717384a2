"""Alliance admins create associations and their first administrator."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import AuditEvent, Tenant
from tests.accounts.support import user_by_email


def test_alliance_admin_lists_and_creates_associations(make, sign_in, session, client):
    make.tenant(name="Existing Association")
    alliance = sign_in(make.user(None, role="alliance_admin"))
    response = alliance.get("/alliance/associations/")
    assert response.status_code == 200 and b"Existing Association" in response.data
    response = alliance.post(
        "/alliance/associations/new",
        data={
            "slug": "pt-clusters",
            "name": "Portuguese Clusters",
            "country": "pt",
            "admin_name": "Ana Admin",
            "admin_email": "ana@example.pt",
        },
    )
    assert response.status_code == 200 and b"/reset/" in response.data
    tenant = session.scalar(select(Tenant).where(Tenant.slug == "pt-clusters"))
    assert tenant.country == "PT"
    admin = user_by_email(session, "ana@example.pt")
    assert (admin.tenant_id, admin.role) == (tenant.id, "tenant_admin")
    # Tenant creation is in the alliance log (tenant_id NULL).
    created = session.scalar(
        select(AuditEvent).where(AuditEvent.entity_type == "tenants", AuditEvent.action == "create")
    )
    assert created is not None and created.tenant_id is None


def _form(slug: str, admin_email: str) -> dict:
    return {
        "slug": slug,
        "name": "New Association",
        "country": "ES",
        "admin_name": "Ana Admin",
        "admin_email": admin_email,
    }


def test_duplicate_slug_is_a_field_error(make, sign_in, session):
    make.tenant(slug="taken")
    alliance = sign_in(make.user(None, role="alliance_admin"))
    response = alliance.post("/alliance/associations/new", data=_form("taken", "y@example.org"))
    assert response.status_code == 422 and b"taken" in response.data
    assert user_by_email(session, "y@example.org") is None


def test_taken_admin_email_is_shown_beside_it_and_no_association_is_left(make, sign_in, session):
    existing = make.user(make.tenant(), role="secretariat")
    alliance = sign_in(make.user(None, role="alliance_admin"))
    response = alliance.post(
        "/alliance/associations/new", data=_form("new-one", existing.email.upper())
    )
    assert response.status_code == 422
    assert b'id="admin_email-error"' in response.data and b"already exists" in response.data
    # The tenant was created before the admin was refused: the rollback took it back.
    assert session.scalar(select(Tenant).where(Tenant.slug == "new-one")) is None


def test_only_alliance_admins_manage_associations(make, sign_in, client):
    tenant = make.tenant()
    users = [make.user(None, role="alliance_analyst")]
    users += [make.user(tenant, role=r) for r in ("tenant_admin", "secretariat")]
    for user in users:
        c = sign_in(user)
        assert c.get("/alliance/associations/").status_code == 404
        assert c.post("/alliance/associations/new", data={"slug": "zz"}).status_code == 404
    assert client.get("/alliance/associations/").status_code == 302  # anonymous: sign in
