"""Changing one's password, and one-time password links issued by a tenant admin."""

from __future__ import annotations

import re

from itsdangerous import URLSafeTimedSerializer

from crm.accounts import services
from crm.models import AuditEvent, User
from tests.accounts.support import refresh_user, tenant_events
from tests.factories import PASSWORD

NEW = "a much longer new password"


def change(client, current=PASSWORD, new=NEW, confirm=None):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": confirm or new,
        },
    )


def test_change_password_ends_other_sessions_and_is_audited(make, sign_in, session):
    tenant = make.tenant()
    user = make.user(tenant)
    laptop, phone = sign_in(user), sign_in(user)
    assert change(laptop).status_code == 302
    assert laptop.get("/account/password").status_code == 200  # this session carries on
    assert phone.get("/account/password").status_code == 302  # the other one is over
    refresh_user(session, user)
    assert user.session_version == 2
    [event] = tenant_events(
        session, tenant.id, AuditEvent.action == "password_change", AuditEvent.entity_id == user.id
    )
    assert event.changes["password_hash"] == ["***", "***"]
    assert sign_in(user, NEW)


def test_change_password_rejects_bad_input_inline(make, sign_in, session):
    user = make.user(make.tenant(), email="someone.long@example.org")
    client = sign_in(user)
    cases = [
        ({"current": "not my password"}, b"not your current password"),
        ({"new": "short", "confirm": "short"}, b"at least 12"),
        ({"new": NEW, "confirm": NEW + "x"}, b"The two entries differ"),
        ({"new": "Someone.Long@example.org"}, b"cannot be your e-mail"),
    ]
    for kwargs, message in cases:
        response = change(client, **kwargs)
        assert response.status_code == 200
        assert message in response.data
    refresh_user(session, user)
    assert user.session_version == 1


def issue_link(admin_client, tenant, user) -> str:
    response = admin_client.post(f"/{tenant.slug}/users/{user.id}/reset-link")
    assert response.status_code == 200
    return re.search(rb'value="(http[^"]+/reset/[^"]+)"', response.data).group(1).decode()


def test_reset_link_sets_a_password_once(make, sign_in, client, session):
    tenant = make.tenant()
    admin, user = make.user(tenant, role="tenant_admin"), make.user(tenant)
    link = issue_link(sign_in(admin), tenant, user)
    path = link.split("localhost", 1)[1]
    assert client.get(path).status_code == 200
    data = {"new_password": NEW, "confirm_password": NEW}
    assert client.post(path, data=data).status_code == 302
    assert client.post(path, data=data).status_code == 404  # used up
    assert sign_in(user, NEW)
    actions = [e.action for e in tenant_events(session, tenant.id, AuditEvent.entity_id == user.id)]
    assert "reset_link_issued" in actions and "password_change" in actions


def test_reset_link_dies_when_the_password_changes_otherwise(make, sign_in, client, session):
    tenant = make.tenant()
    admin, user = make.user(tenant, role="tenant_admin"), make.user(tenant)
    link = issue_link(sign_in(admin), tenant, user)
    assert change(sign_in(user)).status_code == 302
    assert client.get(link.split("localhost", 1)[1]).status_code == 404


def test_expired_or_forged_tokens_are_refused(app, make, client, session):
    user = make.user(make.tenant())
    token = services.issue_reset_token(session, user)
    assert services.user_for_reset_token(session, token).id == user.id
    forged = URLSafeTimedSerializer("another key", salt="password-reset").dumps(
        {"u": user.id, "f": "x"}
    )
    assert client.get(f"/reset/{forged}").status_code == 404
    assert client.get("/reset/not-a-token").status_code == 404
    services.RESET_LINK_MAX_AGE, saved = -1, services.RESET_LINK_MAX_AGE
    try:
        assert services.user_for_reset_token(session, token) is None
    finally:
        services.RESET_LINK_MAX_AGE = saved


def test_reset_link_for_another_tenants_user_is_404(make, sign_in, session):
    a, b = make.tenant(), make.tenant()
    admin, foreign = make.user(a, role="tenant_admin"), make.user(b)
    response = sign_in(admin).post(f"/{a.slug}/users/{foreign.id}/reset-link")
    assert response.status_code == 404
    for tenant in (a, b):
        assert tenant_events(session, tenant.id, AuditEvent.action == "reset_link_issued") == []
    assert session.get(User, foreign.id).session_version == 1
