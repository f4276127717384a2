"""Sign-in: failures slow guessing down without locking out, a fresh session,
deactivated users locked out."""

from __future__ import annotations

import pytest
from redis import Redis

from crm.accounts import throttle
from crm.models import AuditEvent
from tests.accounts.support import tenant_events
from tests.conftest import IsolatedClient, bound_to_rolled_back_connection, close_app
from tests.factories import PASSWORD


def attempt(client, email, password="wrong password here"):
    return client.post("/login", data={"email": email, "password": password})


def events(session, tenant, action):
    return tenant_events(session, tenant.id, AuditEvent.action == action)


@pytest.fixture
def clock(app, monkeypatch):
    """The throttle's clock, moved on by hand instead of sleeping through waits."""

    class Clock:
        now = 1_000_000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    c = Clock()
    monkeypatch.setattr(throttle, "_now", lambda: c.now)
    return c


@pytest.fixture
def small_limits(app, monkeypatch, clock):
    """Fewer free failures (argon2 makes every attempt slow on purpose); read per attempt."""
    monkeypatch.setitem(app.config, "LOGIN_FREE_FAILURES", 3)
    return clock


def from_address(client, address):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_right_password_gets_in_once_the_wait_is_over(client, make, session, small_limits):
    tenant = make.tenant()
    user = make.user(tenant)
    for _ in range(3):
        assert attempt(client, user.email).status_code == 401
    # During the wait nothing is checked, the right password included, and it says so.
    response = attempt(client, user.email, PASSWORD)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    text = response.get_data(as_text=True)
    assert "Too many failed sign-in attempts" in text and "wait 2 seconds" in text
    small_limits.advance(1.5)
    assert attempt(client, user.email, PASSWORD).status_code == 429
    small_limits.advance(0.5)
    assert attempt(client, user.email, PASSWORD).status_code == 302
    assert len(events(session, tenant, "login_failed")) == 3
    assert len(events(session, tenant, "login_throttled")) == 2
    assert len(events(session, tenant, "login")) == 1


def test_wrong_passwords_wait_longer_and_longer_up_to_the_cap(client, make, small_limits, app):
    user = make.user(make.tenant())
    for _ in range(3):
        attempt(client, user.email)
    waits = []
    for _ in range(8):
        waits.append(throttle.wait_seconds(user.email, "127.0.0.1"))
        assert attempt(client, user.email).status_code == 429  # too early
        small_limits.advance(waits[-1])
        assert attempt(client, user.email).status_code == 401  # checked, and wrong
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    assert app.config["LOGIN_MAX_DELAY"] == 60
    small_limits.advance(60)
    assert attempt(client, user.email, PASSWORD).status_code == 302


def test_guessing_from_elsewhere_never_slows_the_owner(app, make, small_limits):
    user = make.user(make.tenant())
    attacker = from_address(app.test_client(), "198.51.100.7")
    for _ in range(6):
        attacker_status = attempt(attacker, user.email).status_code
    assert attacker_status == 429
    owner = from_address(app.test_client(), "203.0.113.20")
    assert attempt(owner, user.email, PASSWORD).status_code == 302


def test_other_accounts_from_the_same_address_are_not_slowed(client, make, small_limits):
    for n in range(10):
        assert attempt(client, f"nobody{n}@example.org").status_code == 401
    user = make.user(make.tenant())
    assert attempt(client, user.email, PASSWORD).status_code == 302


def test_failures_are_forgotten_after_a_quiet_while(client, make, small_limits, app):
    user = make.user(make.tenant())
    for _ in range(3):
        attempt(client, user.email)
    assert throttle.wait_seconds(user.email, "127.0.0.1") > 0
    small_limits.advance(app.config["LOGIN_FAILURE_MEMORY"] + 1)
    assert throttle.wait_seconds(user.email, "127.0.0.1") == 0
    attempt(client, user.email)  # counting starts again at one
    assert throttle.wait_seconds(user.email, "127.0.0.1") == 0


def test_default_settings(app):
    cfg = app.config
    assert (cfg["LOGIN_FREE_FAILURES"], cfg["LOGIN_FIRST_DELAY"], cfg["LOGIN_MAX_DELAY"]) == (
        5,
        2,
        60,
    )
    assert cfg["LOGIN_FAILURE_MEMORY"] == 15 * 60


def test_success_forgets_the_failures(client, make, small_limits):
    user = make.user(make.tenant())
    for _ in range(2):
        attempt(client, user.email)
    assert attempt(client, user.email, PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(2):
        assert attempt(client, user.email).status_code == 401
    assert attempt(client, user.email, PASSWORD).status_code == 302


def test_throttling_uses_redis_when_configured(make_app, redis_url, monkeypatch):
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    app = make_app(REDIS_URL=redis_url, LOGIN_FREE_FAILURES=2)
    app.test_client_class = IsolatedClient
    from crm.extensions import db
    from tests.factories import Factories

    now = [1_000_000.0]
    monkeypatch.setattr(throttle, "_now", lambda: now[0])
    with bound_to_rolled_back_connection(app), app.app_context():
        factories = Factories(db.session)
        email = factories.user(factories.tenant()).email
        client = app.test_client()
        assert attempt(client, email).status_code == 401
        assert attempt(client, email).status_code == 401
        assert redis.keys("crm:login-failures:*")
        # A second app on the same Redis (another web process) sees the count.
        other = make_app(REDIS_URL=redis_url, LOGIN_FREE_FAILURES=2)
        with other.app_context():
            assert throttle.wait_seconds(email, "127.0.0.1") == 2
        assert attempt(client, email, PASSWORD).status_code == 429
        now[0] += 2
        assert attempt(client, email, PASSWORD).status_code == 302
        assert redis.keys("crm:login-failures:*") == []  # the success forgot the pair
        close_app(other)
    close_app(app)
    redis.flushdb()
    redis.close()


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
