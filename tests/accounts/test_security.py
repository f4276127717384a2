"""Security headers, cookie flags, production settings, CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import config
from crm.models import User
from crm.tenancy import tenant_scope
from tests.conftest import IsolatedClient, bound_to_rolled_back_connection
from tests.factories import PASSWORD, Factories


def test_security_headers_on_every_kind_of_page(client):
    for path in ("/", "/login", "/no-such-page"):
        headers = client.get(path).headers
        csp = dict(
            part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";")
        )
        assert "'unsafe-inline'" not in csp["script-src"]
        assert csp["frame-ancestors"] == "'none'"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")


def test_session_cookie_is_httponly_and_lax(client, make):
    user = make.user(make.tenant())
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    settings = config.load({"ENV": "production", "SECRET_KEY": "x" * 40}, environ={})
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["SESSION_COOKIE_HTTPONLY"] and settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["REMEMBER_COOKIE_DURATION"] == 14 * 24 * 3600


@pytest.mark.parametrize("key", [None, "", config.INSECURE_KEY, "too-short"])
def test_production_refuses_to_start_without_a_real_secret(key):
    overrides = {"ENV": "production"}
    if key is not None:
        overrides["SECRET_KEY"] = key
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.load(overrides, environ={})


def test_post_without_csrf_token_is_refused_and_changes_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    app.test_client_class = IsolatedClient
    from crm.extensions import db

    with bound_to_rolled_back_connection(app), app.app_context():
        make = Factories(db.session)
        tenant = make.tenant()
        admin, user = make.user(tenant, role="tenant_admin"), make.user(tenant)
        slug, admin_email, user_id, tenant_id = tenant.slug, admin.email, user.id, tenant.id
        client = app.test_client()
        # Even sign-in needs the token.
        response = client.post("/login", data={"email": admin_email, "password": PASSWORD})
        assert response.status_code == 400
        page = client.get("/login").data.decode()
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        data = {"email": admin_email, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 302
        for path, data in (
            (f"/{slug}/users/{user_id}/deactivate", {}),
            (f"/{slug}/users/{user_id}/edit", {"name": "Changed", "role": "tenant_admin"}),
        ):
            assert client.post(path, data=data).status_code == 400
        db.session.expire_all()
        with tenant_scope(tenant_id):
            user = db.session.scalar(select(User).where(User.id == user_id))
        assert user.active and user.role == "secretariat" and user.name != "Changed"
