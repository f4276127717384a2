"""X-Forwarded-* believed only from configured proxies; links built from BASE_URL."""

from __future__ import annotations

import pytest

import config
from crm.accounts import throttle
from crm.extensions import db
from crm.models import AuditEvent
from tests.accounts.support import tenant_events
from tests.accounts.test_security import BASE_URL, app_with
from tests.factories import PASSWORD

FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def _failed_login_ip(app, make) -> str:
    tenant = make.tenant()
    user = make.user(tenant)
    data = {"email": user.email, "password": "wrong password here"}
    assert app.test_client().post("/login", data=data, headers=FORWARDED).status_code == 401
    (event,) = tenant_events(db.session, tenant.id, AuditEvent.action == "login_failed")
    return event.ip


def test_forwarded_for_is_ignored_by_default(app, make):
    assert app.config["TRUSTED_PROXIES"] == 0
    assert _failed_login_ip(app, make) == "127.0.0.1"


def test_forwarded_for_is_honoured_behind_a_trusted_proxy(make_app):
    with app_with(make_app, TRUSTED_PROXIES=1) as (app, make):
        assert _failed_login_ip(app, make) == "203.0.113.9"


def test_trusted_proxies_comes_from_the_environment():
    assert config.load(environ={"TRUSTED_PROXIES": "2"})["TRUSTED_PROXIES"] == 2
    for bad in ("-1", "two"):
        with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
            config.load(environ={"TRUSTED_PROXIES": bad})


def test_production_refuses_to_start_without_base_url():
    production = {"ENV": "production", "SECRET_KEY": "x" * 40}
    with pytest.raises(RuntimeError, match="BASE_URL"):
        config.load(production, environ={})
    for bad in ("crm.example.org", "ftp://crm.example.org", "https://crm.example.org/?a=1"):
        with pytest.raises(RuntimeError, match="BASE_URL"):
            config.load({**production, "BASE_URL": bad}, environ={})
    settings = config.load(production, environ={"BASE_URL": "https://crm.example.org/"})
    assert settings["BASE_URL"] == "https://crm.example.org"


@pytest.mark.parametrize("base", [BASE_URL, "https://example.org/crm"])
def test_a_forged_host_does_not_change_password_links(make_app, base):
    with app_with(make_app, BASE_URL=base) as (app, make):
        tenant = make.tenant()
        admin, user = make.user(tenant, role="tenant_admin"), make.user(tenant)
        client = app.test_client()
        # The whole visit comes in under the forged name (so does the session cookie).
        evil = {"Host": "evil.example", **FORWARDED}
        client.post("/login", data={"email": admin.email, "password": PASSWORD}, headers=evil)
        response = client.post(f"/{tenant.slug}/users/{user.id}/reset-link", headers=evil)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert f"{base}/reset/" in page and "evil.example" not in page
        # The link works where it points.
        token = page.split(f"{base}/reset/", 1)[1].split('"', 1)[0].split("<", 1)[0]
        assert app.test_client().get(f"/reset/{token}").status_code == 200


def test_new_association_link_uses_base_url(make_app):
    with app_with(make_app, BASE_URL=BASE_URL) as (app, make):
        client = app.test_client()
        alliance = make.user(None, role="alliance_admin")
        evil = {"Host": "evil.example"}
        client.post("/login", data={"email": alliance.email, "password": PASSWORD}, headers=evil)
        data = {
            "slug": "links-test",
            "name": "Links",
            "country": "FR",
            "admin_name": "Ana",
            "admin_email": "ana@links.example.org",
        }
        response = client.post("/alliance/associations/new", data=data, headers=evil)
        page = response.get_data(as_text=True)
        assert f"{BASE_URL}/reset/" in page and "evil.example" not in page


def test_behind_a_trusted_proxy_each_client_has_its_own_throttle(make_app):
    with app_with(make_app, TRUSTED_PROXIES=1, LOGIN_FREE_FAILURES=2) as (app, make):
        user = make.user(make.tenant())
        wrong = {"email": user.email, "password": "wrong password here"}
        attacker = {"X-Forwarded-For": "198.51.100.7"}
        statuses = [
            app.test_client().post("/login", data=wrong, headers=attacker).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429]
        # Same proxy, so the same TCP peer: the owner is still not slowed down.
        owner = {"X-Forwarded-For": "203.0.113.20"}
        right = {"email": user.email, "password": PASSWORD}
        assert app.test_client().post("/login", data=right, headers=owner).status_code == 302
        throttle.reset_all()
