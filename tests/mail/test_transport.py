"""The transport against a real SMTP server, the outbox without one, consent and
unsubscribe tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.mail import consent, transport, unsubscribe
from crm.models import Contact, OutboxMessage
from crm.tenancy import tenant_scope


def _message(to: str = "ana@example.org", **headers):
    return transport.compose("sec@assoc.example.org", to, "Renewal", "Dear Ana,\n", headers)


def test_smtp_delivers_with_headers(app, make, session, smtp_server):
    tenant = make.tenant()
    headers = unsubscribe.headers("https://crm.example.org/unsubscribe/abc")
    transport.send(session, tenant.id, _message(**headers))

    [received] = smtp_server.messages
    assert received["To"] == "ana@example.org"
    assert received["Subject"] == "Renewal"
    assert received["List-Unsubscribe"] == "<https://crm.example.org/unsubscribe/abc>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.get_content().replace("\r\n", "\n") == "Dear Ana,\n"
    with tenant_scope(tenant.id):
        assert session.scalars(select(OutboxMessage)).all() == []


def test_refused_address_is_permanent_and_the_connection_goes_on(app, make, session, smtp_server):
    tenant = make.tenant()
    smtp_server.refuse.add("gone@example.org")
    smtp_server.defer.add("busy@example.org")
    with transport.Postman(session) as postman:
        with pytest.raises(transport.MailError) as refused:
            postman.send(tenant.id, _message("gone@example.org"))
        with pytest.raises(transport.MailError) as deferred:
            postman.send(tenant.id, _message("busy@example.org"))
        postman.send(tenant.id, _message("ana@example.org"))

    assert refused.value.permanent and refused.value.reply.startswith("550")
    assert not deferred.value.permanent and deferred.value.reply.startswith("451")
    assert [m["To"] for m in smtp_server.messages] == ["ana@example.org"]


def test_unreachable_server_is_a_transient_error(app, make, session):
    tenant = make.tenant()
    with pytest.raises(transport.MailError) as error:
        with transport.Postman(session, url="smtp://127.0.0.1:9") as postman:
            postman.send(tenant.id, _message())
    assert not error.value.permanent


def test_without_smtp_messages_land_in_the_tenants_outbox(app, make, session):
    assert not app.config["SMTP_URL"]
    tenant, other = make.tenant(), make.tenant()
    with tenant_scope(tenant.id):  # as in a request or a job of the association
        transport.send(session, tenant.id, _message(**unsubscribe.headers("https://x/u/1")))

    with tenant_scope(tenant.id):
        [stored] = session.scalars(select(OutboxMessage)).all()
    assert (stored.recipient, stored.subject, stored.body) == (
        "ana@example.org",
        "Renewal",
        "Dear Ana,\n",
    )
    assert stored.headers["List-Unsubscribe"] == "<https://x/u/1>"
    with tenant_scope(other.id):
        assert session.scalars(select(OutboxMessage)).all() == []


def test_consent_rules_per_purpose(app, make, session):
    tenant = make.tenant()
    org = make.org(tenant)
    make.contact(org, email="silent@example.org")
    refused = make.contact(org, email="refused@example.org")
    agreed = make.contact(org, email="agreed@example.org")
    make.contact(org, email=None)
    with tenant_scope(tenant.id):
        for c, granted in ((refused, False), (agreed, True)):
            for purpose in ("membership", "newsletters"):
                consent.record(session, tenant.id, c.id, purpose, granted, "form")

    def receiving(purpose):
        with tenant_scope(tenant.id):
            query = select(Contact.email).where(consent.may_receive(purpose))
            return set(session.scalars(query))

    assert receiving("membership") == {"silent@example.org", "agreed@example.org"}
    assert receiving("newsletters") == {"agreed@example.org"}
    with pytest.raises(ValueError):
        consent.may_receive("spam")


def test_unsubscribe_tokens_are_signed(app):
    good = unsubscribe.token(3, 41, "newsletters")
    assert unsubscribe.read(good) == (3, 41, "newsletters")
    assert unsubscribe.read(good[:-2] + "xx") is None
    assert unsubscribe.read("not-a-token") is None
    assert unsubscribe.read(unsubscribe._serializer().dumps([3, 41, "spam"])) is None
    assert unsubscribe.read(unsubscribe._serializer().dumps(["3", 41, "membership"])) is None
