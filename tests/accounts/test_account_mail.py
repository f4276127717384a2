"""Account mail against a real SMTP server: invitations and "Forgot password?"
links work once and expire; the forgotten-password page says nothing about
who has an account, and is throttled per client and per address."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from itsdangerous import TimestampSigner
from sqlalchemy import select

from crm.accounts import services
from crm.i18n import _, force_locale
from crm.models import AuditEvent, OutboxMessage
from crm.tenancy import tenant_scope
from tests.accounts.support import tenant_events, user_by_email
from tests.accounts.test_tenants_admin import _form as new_association_form
from tests.conftest import bound_to_rolled_back_connection

NEW = "a much longer new password"
SET = {"new_password": NEW, "confirm_password": NEW}


def link_path(message) -> str:
    """The path of the one password link in a received message."""
    [link] = re.findall(r"https?://\S+/reset/\S+", message.get_content())
    return urlsplit(link).path


def subject_in(language: str, place: str) -> str:
    with force_locale(language):
        return _("Your account at %(place)s", place=place)


def signed_ago(monkeypatch, seconds: int):
    """Tokens signed from now on carry a timestamp ``seconds`` in the past."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - seconds)


def test_invitation_is_mailed_and_works_once(make, sign_in, client, session, smtp_server):
    tenant = make.tenant(name="Pôle Mécanique")
    admin = sign_in(make.user(tenant, role="tenant_admin"))
    data = {"email": "new.person@example.org", "name": "New Person", "role": "secretariat"}
    response = admin.post(f"/{tenant.slug}/users/new", data=data)

    assert response.status_code == 302  # mailed: no link to hand over
    [message] = smtp_server.to("new.person@example.org")
    # A new user has no language yet: the mail speaks the association's (French).
    assert message["Subject"] == subject_in("fr", "Pôle Mécanique")
    path = link_path(message)
    assert client.get(path).status_code == 200
    assert client.post(path, data=SET).status_code == 302
    assert client.get(path).status_code == 404  # used up
    assert client.post("/login", data={"email": data["email"], "password": NEW}).status_code == 302
    user = user_by_email(session, data["email"])
    actions = [e.action for e in tenant_events(session, tenant.id, AuditEvent.entity_id == user.id)]
    assert "invitation_issued" in actions and "password_change" in actions


def test_invitation_lasts_a_week_and_a_reset_link_a_day(make, session, client, monkeypatch):
    tenant = make.tenant()
    user = make.user(tenant)
    with tenant_scope(tenant.id):
        signed_ago(monkeypatch, 6 * 24 * 3600)
        fresh_invitation = services.issue_reset_token(session, user, "invitation")
        signed_ago(monkeypatch, 8 * 24 * 3600)
        old_invitation = services.issue_reset_token(session, user, "invitation")
        signed_ago(monkeypatch, 25 * 3600)
        old_reset = services.issue_reset_token(session, user)
        signed_ago(monkeypatch, 23 * 3600)
        fresh_reset = services.issue_reset_token(session, user)
        session.flush()  # the audit events, in the association's scope (RLS)
    monkeypatch.undo()

    assert client.get(f"/reset/{old_invitation}").status_code == 404
    assert client.get(f"/reset/{old_reset}").status_code == 404
    assert client.get(f"/reset/{fresh_invitation}").status_code == 200
    assert client.get(f"/reset/{fresh_reset}").status_code == 200
    assert client.get(f"/reset/{fresh_reset[:-3]}abc").status_code == 404  # tampered


def test_resend_invitation(make, sign_in, session, smtp_server):
    tenant = make.tenant()
    admin = sign_in(make.user(tenant, role="tenant_admin"))
    user = make.user(tenant, email="late@example.org")
    response = admin.post(f"/{tenant.slug}/users/{user.id}/invite")
    assert response.status_code == 302
    [message] = smtp_server.to("late@example.org")
    assert "7 days" in message.get_content()


def test_invitation_refused_by_the_server_shows_the_link(make, sign_in, session, smtp_server):
    tenant = make.tenant()
    admin = sign_in(make.user(tenant, role="tenant_admin"))
    smtp_server.refuse.add("typo@example.org")
    data = {"email": "typo@example.org", "name": "Typo", "role": "secretariat"}
    response = admin.post(f"/{tenant.slug}/users/new", data=data)
    assert response.status_code == 200
    assert b"could not be sent: 550" in response.data
    assert re.search(rb'value="http[^"]+/reset/[^"]+"', response.data)
    assert user_by_email(session, "typo@example.org") is not None  # the user is kept


def test_without_smtp_the_invitation_is_in_the_outbox(make, sign_in, session):
    tenant = make.tenant()
    admin = sign_in(make.user(tenant, role="tenant_admin"))
    data = {"email": "boxed@example.org", "name": "Boxed", "role": "secretariat"}
    response = admin.post(f"/{tenant.slug}/users/new", data=data)
    assert response.status_code == 200
    assert b"the invitation is in the outbox" in response.data
    with tenant_scope(tenant.id):
        [stored] = session.scalars(select(OutboxMessage)).all()
    assert stored.recipient == "boxed@example.org"
    assert "/reset/" in stored.body


def forgot(client, email: str, address: str = "198.51.100.7"):
    return client.post(
        "/forgot-password", data={"email": email}, environ_base={"REMOTE_ADDR": address}
    )


def test_forgot_password_answers_alike_and_mails_known_addresses_once(
    make, client, session, smtp_server, count_queries
):
    tenant = make.tenant()
    make.user(tenant, email="known@example.org")
    known = forgot(client, "Known@Example.org")
    unknown = forgot(client, "nobody@example.org")

    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert b"If an account exists for that address" in known.data
    assert [m["To"] for m in smtp_server.messages] == ["known@example.org"]
    path = link_path(smtp_server.messages[0])
    assert client.post(path, data=SET).status_code == 302
    assert client.post(path, data=SET).status_code == 404  # works once
    assert (
        client.post("/login", data={"email": "known@example.org", "password": NEW}).status_code
        == 302
    )


def test_forgot_password_lookup_happens_after_the_answer(make, app, session, smtp_server):
    """The request itself does the same work for any address: the lookup and
    the mail hang on the response's close, after the answer is written."""
    make.user(make.tenant(), email="known@example.org")
    client = app.test_client()
    response = client.post("/forgot-password", data={"email": "known@example.org"}, buffered=False)
    assert response.status_code == 200
    assert smtp_server.messages == []  # answered, nothing looked up or sent yet
    response.close()
    assert [m["To"] for m in smtp_server.messages] == ["known@example.org"]


def test_forgot_password_is_throttled_per_address(make, client, session, smtp_server):
    make.user(make.tenant(), email="victim@example.org")
    answers = {forgot(client, "victim@example.org", f"203.0.113.{n}").data for n in range(6)}
    assert len(answers) == 1  # the same answer throughout
    assert len(smtp_server.to("victim@example.org")) == 3  # FORGOT_PASSWORD_PER_ADDRESS


def test_forgot_password_is_throttled_per_client(make, client, session, smtp_server):
    statuses = [forgot(client, f"guess{n}@example.org").status_code for n in range(11)]
    assert statuses == [200] * 10 + [429]  # FORGOT_PASSWORD_PER_CLIENT
    assert forgot(client, "other@example.org", "192.0.2.99").status_code == 200


def test_forgot_password_for_a_deactivated_user_sends_nothing(make, client, smtp_server):
    make.user(make.tenant(), email="gone@example.org", active=False)
    assert forgot(client, "gone@example.org").status_code == 200
    assert smtp_server.messages == []


def test_alliance_user_is_mailed_by_smtp_only(make, client, session, smtp_server, app, caplog):
    make.user(None, role="alliance_admin", email="office@alliance.example.org")
    forgot(client, "office@alliance.example.org")
    assert [m["To"] for m in smtp_server.messages] == ["office@alliance.example.org"]

    app.config["SMTP_URL"] = None  # no outbox for the alliance: logged, not stored
    forgot(client, "office@alliance.example.org", "192.0.2.1")
    assert "was not sent" in caplog.text
    assert "/reset/" not in caplog.text


def test_bad_address_is_a_field_error(client):
    response = client.post("/forgot-password", data={"email": "not an address"})
    assert response.status_code == 422
    assert b"field-error" in response.data


def test_forgot_password_without_redis_still_answers(make_app, database_urls):
    """Redis down: the limits count in memory and the page answers as usual."""
    app = make_app(REDIS_URL="redis://127.0.0.1:9/0")
    with bound_to_rolled_back_connection(app), app.app_context():
        client = app.test_client()
        for _ in range(3):
            response = client.post("/forgot-password", data={"email": "who@example.org"})
            assert response.status_code == 200
            assert b"If an account exists for that address" in response.data


def test_new_associations_first_admin_is_invited_by_mail(make, sign_in, client, smtp_server):
    alliance = sign_in(make.user(None, role="alliance_admin"))
    form = new_association_form("pt-clusters", "ana@example.pt")
    response = alliance.post("/alliance/associations/new", data=form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/alliance/associations/")
    [message] = smtp_server.to("ana@example.pt")
    assert message["Subject"] == subject_in("es", "New Association")  # a Spanish association
    path = link_path(message)
    assert client.post(path, data=SET).status_code == 302
    assert (
        client.post("/login", data={"email": "ana@example.pt", "password": NEW}).status_code == 302
    )
