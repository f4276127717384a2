"""Security and cache headers, cookie flags, production settings, CSRF, the health check."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest
from sqlalchemy import select

import config
from crm.extensions import db
from crm.models import User
from crm.tenancy import tenant_scope
from tests.conftest import IsolatedClient, bound_to_rolled_back_connection, close_app
from tests.factories import PASSWORD, Factories

BASE_URL = "https://crm.example.org"
PRODUCTION = {"ENV": "production", "SECRET_KEY": "x" * 40, "BASE_URL": BASE_URL}


@contextmanager
def app_with(make_app, **overrides):
    """An app with these settings, on a rolled-back connection: (app, factories)."""
    app = make_app(**overrides)
    app.test_client_class = IsolatedClient
    with bound_to_rolled_back_connection(app), app.app_context():
        yield app, Factories(db.session)


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
    settings = config.load(PRODUCTION, environ={})
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["SESSION_COOKIE_HTTPONLY"] and settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["REMEMBER_COOKIE_DURATION"] == 14 * 24 * 3600


@pytest.mark.parametrize("key", [None, "", config.INSECURE_KEY, "too-short"])
def test_production_refuses_to_start_without_a_real_secret(key):
    overrides = {"ENV": "production", "BASE_URL": BASE_URL}
    if key is not None:
        overrides["SECRET_KEY"] = key
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.load(overrides, environ={})


def test_post_without_csrf_token_is_refused_and_changes_nothing(make_app):
    with app_with(make_app, WTF_CSRF_ENABLED=True) as (app, make):
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


FORM_EXPIRED = "This form has expired or was opened in another session."


def test_a_stale_form_says_it_expired(make_app):
    with app_with(make_app, WTF_CSRF_ENABLED=True) as (app, _):
        client = app.test_client()
        data = {"email": "a@example.org", "password": "x", "csrf_token": "stale"}
        response = client.post("/login", data=data)
        assert response.status_code == 400 and response.mimetype == "text/html"
        text = response.get_data(as_text=True)
        assert FORM_EXPIRED in text and "reload the page and submit it again" in text
        response = client.post("/login", data=data, headers={"Accept": "application/json"})
        assert response.status_code == 400
        assert response.get_json()["message"].startswith(FORM_EXPIRED)


def test_permissions_policy_everywhere_and_no_hsts_outside_production(client):
    headers = client.get("/login").headers
    policy = dict(p.strip().split("=") for p in headers["Permissions-Policy"].split(","))
    assert policy["camera"] == policy["microphone"] == policy["geolocation"] == "()"
    assert "Strict-Transport-Security" not in headers


def test_production_sends_hsts(make_app):
    with app_with(make_app, **PRODUCTION) as (app, _):
        headers = app.test_client().get("/login").headers
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert "camera=()" in headers["Permissions-Policy"]
    close_app(app)


def test_nothing_personal_is_cached(make, signed_in, client):
    tenant = make.tenant()
    make.org(tenant)
    user = signed_in(make.user(tenant, role="tenant_admin"))
    for path in (
        f"/{tenant.slug}/members",
        f"/{tenant.slug}/members/export.csv",
        f"/{tenant.slug}/members/export.xlsx",
        f"/{tenant.slug}/figures/status.json",
        "/no-such-page",
    ):
        response = user.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
    # Public pages and the static files may be cached; JSON never is.
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    with user.get("/static/css/app.css") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"


def test_healthz_tells_anonymous_callers_only_ok_or_degraded(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_healthz_keeps_the_error_for_the_log(make_app, caplog):
    # A Redis nobody listens on: the check fails for real.
    with app_with(make_app, REDIS_URL="redis://127.0.0.1:1/0") as (app, _):
        with caplog.at_level(logging.ERROR):
            response = app.test_client().get("/healthz")
        assert response.status_code == 503
        # The failing part is named, never the reason (that stays in the log).
        assert response.get_json() == {"status": "degraded", "failing": ["redis"]}
        assert "Error" not in response.get_data(as_text=True)
        assert "Redis does not answer" in caplog.text and "ConnectionError" in caplog.text
    close_app(app)
