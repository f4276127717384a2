"""Signing out ends the session: cookies copied before sign-out open nothing after it."""

from __future__ import annotations

import pytest

from crm.models import User
from tests.factories import PASSWORD


def _copy(client, name: str, app):
    """A new client holding only the cookie ``name`` of ``client`` (a stolen copy)."""
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie to copy"
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


@pytest.fixture
def secretariat(make):
    tenant = make.tenant()
    return make.user(tenant, role="secretariat"), f"/{tenant.slug}/dashboard"


def _sign_in(client, user, remember=False):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302


def test_session_cookie_copied_before_sign_out_is_refused_after_it(app, client, secretariat):
    user, dashboard = secretariat
    _sign_in(client, user)
    copy = _copy(client, "session", app)
    assert copy.get(dashboard).status_code == 200  # the copy works while signed in

    assert client.post("/logout").status_code == 302
    response = copy.get(dashboard)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(dashboard).status_code == 302


def test_remember_me_cookie_copied_before_sign_out_is_refused_after_it(app, client, secretariat):
    user, dashboard = secretariat
    _sign_in(client, user, remember=True)
    copy = _copy(client, "remember_token", app)
    # Only the remember-me cookie: it alone signs the copy in, until sign-out.
    assert copy.get(dashboard).status_code == 200
    fresh_copy = _copy(client, "remember_token", app)

    assert client.post("/logout").status_code == 302
    response = fresh_copy.get(dashboard)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_out_moves_the_session_version_on(client, secretariat, session):
    user, _ = secretariat
    before = user.session_version
    _sign_in(client, user)
    client.post("/logout")
    assert session.get(User, user.id).session_version == before + 1


def test_signing_in_again_after_sign_out_works(client, secretariat):
    user, dashboard = secretariat
    _sign_in(client, user)
    client.post("/logout")
    _sign_in(client, user)
    assert client.get(dashboard).status_code == 200


def test_password_change_ends_a_copied_remember_me_cookie(app, client, secretariat):
    user, dashboard = secretariat
    _sign_in(client, user, remember=True)
    copy = _copy(client, "remember_token", app)
    new = "a brand new password 2026"
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm_password": new},
    )
    assert response.status_code == 302
    assert client.get(dashboard).status_code == 200  # this session carries on
    assert copy.get(dashboard).status_code == 302
