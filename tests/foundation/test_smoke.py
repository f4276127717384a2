from sqlalchemy import select

from crm.models import Organisation
from crm.tenancy import tenant_scope


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_home_for_anonymous_offers_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_login_then_home_redirects(make, login, client):
    tenant = make.tenant()
    user = make.user(tenant, role="secretariat")
    login(user)
    response = client.get("/")
    assert response.status_code == 302


def test_queries_are_scoped_to_the_current_tenant(make, session):
    a, b = make.tenant(), make.tenant()
    make.org(a, name="Alpha")
    make.org(b, name="Beta")
    with tenant_scope(a.id):
        names = session.scalars(select(Organisation.name)).all()
    assert names == ["Alpha"]
    with tenant_scope(None):
        assert session.scalars(select(Organisation)).all() == []
