"""Sign-in: throttling of failures, a fresh session, deactivated users locked out."""

from __future__ import annotations

import pytest
from redis import Redis

from crm.accounts import throttle
from crm.models import AuditEvent
from tests.accounts.support import tenant_events
from tests.conftest import IsolatedClient, bound_to_rolled_back_connection
from tests.factories import PASSWORD


def attempt(client, email, password="wrong password here"):
    return client.post("/login", data={"email": email, "password": password})


def events(session, tenant, action):
    return tenant_events(session, tenant.id, AuditEvent.action == action)


@pytest.fixture
def small_limits(app, monkeypatch):
    """Lower limits (argon2 makes every attempt slow on purpose); read per attempt."""
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ACCOUNT", "3 per 15 minutes")
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", "5 per 15 minutes")


def test_account_is_throttled_after_repeated_failures(client, make, session, small_limits):
    tenant = make.tenant()
    user = make.user(tenant)
    for _ in range(3):
        assert attempt(client, user.email).status_code == 401
    # Even the right password is refused now: the throttled attempt is not verified.
    response = attempt(client, user.email, PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.data
    assert len(events(session, tenant, "login_failed")) == 3
    assert len(events(session, tenant, "login_throttled")) == 1
    assert events(session, tenant, "login") == []


def test_default_limits_match_the_settings(app):
    assert app.config["LOGIN_FAILURES_PER_ACCOUNT"] == "5 per 15 minutes"
    assert app.config["LOGIN_FAILURES_PER_ADDRESS"] == "20 per 15 minutes"


def test_address_is_throttled_across_accounts(client, make, small_limits):
    tenant = make.tenant()
    for n in range(5):
        assert attempt(client, f"nobody{n}@example.org").status_code == 401
    user = make.user(tenant)
    assert attempt(client, user.email, PASSWORD).status_code == 429


def test_success_clears_the_accounts_failures(client, make, monkeypatch, app):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ACCOUNT", "3 per 15 minutes")
    user = make.user(make.tenant())
    for _ in range(2):
        attempt(client, user.email)
    assert attempt(client, user.email, PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(2):
        assert attempt(client, user.email).status_code == 401
    assert attempt(client, user.email, PASSWORD).status_code == 302


def test_throttling_uses_redis_when_configured(make_app, redis_url):
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    app = make_app(REDIS_URL=redis_url, LOGIN_FAILURES_PER_ACCOUNT="2 per 15 minutes")
    app.test_client_class = IsolatedClient
    from crm.extensions import db
    from tests.factories import Factories

    with bound_to_rolled_back_connection(app), app.app_context():
        factories = Factories(db.session)
        email = factories.user(factories.tenant()).email
        client = app.test_client()
        assert attempt(client, email).status_code == 401
        assert attempt(client, email).status_code == 401
        assert any(b"login-failures" in key for key in redis.keys("*"))
        # A second app on the same Redis (another worker process) sees the count.
        other = make_app(REDIS_URL=redis_url, LOGIN_FAILURES_PER_ACCOUNT="2 per 15 minutes")
        with other.app_context():
            assert throttle.is_throttled(email, "127.0.0.1")
        assert attempt(client, email, PASSWORD).status_code == 429
        throttle.reset_all()
    redis.flushdb()


def test_login_starts_a_fresh_session(client, make):
    user = make.user(make.tenant())
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    before = client.get_cookie("session").value
    assert attempt(client, user.email, PASSWORD).status_code == 302
    assert client.get_cookie("session").value != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == f"{user.id}:{user.session_version}:{user.tenant_id}"


def test_remember_me_sets_a_bounded_cookie(client, make):
    user = make.user(make.tenant())
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only
    assert cookie.max_age is None or cookie.max_age <= 14 * 24 * 3600
    assert cookie.expires is not None


def test_deactivated_user_is_locked_out_and_their_session_ends(make, sign_in, session):
    tenant = make.tenant()
    admin = make.user(tenant, role="tenant_admin")
    victim = make.user(tenant, role="secretariat")
    victim_client = sign_in(victim)
    assert victim_client.get("/account/password").status_code == 200
    response = sign_in(admin).post(f"/{tenant.slug}/users/{victim.id}/deactivate")
    assert response.status_code == 302
    assert victim_client.get("/account/password").status_code == 302  # back to sign-in
    assert attempt(victim_client, victim.email, PASSWORD).status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(client, make, target):
    user = make.user(make.tenant())
    response = client.post(
        f"/login?next={target}", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
