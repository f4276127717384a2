"""The outbox reader (association admins) and the association's sender address."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.mail import transport
from crm.models import AuditEvent, OutboxMessage, Tenant
from crm.tenancy import tenant_scope


def store(session, tenant, recipient="ana@example.org", subject="Renewal", **headers) -> int:
    """The id of a message stored as the transport stores one without SMTP."""
    with tenant_scope(tenant.id):
        message = transport.compose("sec@example.org", recipient, subject, "Dear Ana,\n", headers)
        transport.send(session, tenant.id, message)
        return session.scalar(select(func.max(OutboxMessage.id)))


def test_outbox_lists_newest_first_searches_and_shows_a_message(
    make, login, session, count_queries
):
    tenant = make.tenant()
    admin = login(make.user(tenant, role="tenant_admin"))
    first = store(session, tenant, "ana@example.org", "First")
    store(session, tenant, "ben_b@example.org", "Second")
    store(session, make.tenant(), "ana@elsewhere.org", "Another association's")

    with count_queries() as few:
        page = admin.get(f"/{tenant.slug}/outbox").get_data(as_text=True)
    assert page.index("Second") < page.index("First")
    assert "Another association" not in page
    for n in range(10):
        store(session, tenant, f"more{n}@example.org", f"More {n}")
    with count_queries() as many:
        assert "More 9" in admin.get(f"/{tenant.slug}/outbox").get_data(as_text=True)
    assert many.count == few.count <= 6, many.statements  # no query per message

    found = admin.get(f"/{tenant.slug}/outbox?q=BEN_").get_data(as_text=True)
    assert "Second" in found and "First" not in found
    assert "No message to such a recipient" in admin.get(f"/{tenant.slug}/outbox?q=%25zz").get_data(
        as_text=True
    )

    shown = admin.get(f"/{tenant.slug}/outbox/{first}")
    assert shown.status_code == 200
    assert b"Dear Ana," in shown.data and b"Message-ID" in shown.data


def test_outbox_is_for_admins_and_empty_state(make, login, signed_in):
    tenant = make.tenant()
    assert (
        signed_in(make.user(tenant, role="secretariat")).get(f"/{tenant.slug}/outbox").status_code
        == 404
    )
    page = login(make.user(tenant, role="tenant_admin")).get(f"/{tenant.slug}/outbox")
    assert b"The outbox is empty" in page.data


def test_another_associations_message_is_404(make, login, session):
    a, b = make.tenant(), make.tenant()
    foreign = store(session, b, "secret@b.example.org", "B's business")
    response = login(make.user(a, role="tenant_admin")).get(f"/{a.slug}/outbox/{foreign}")
    assert response.status_code == 404
    assert b"B's business" not in response.data


def sender_of(session, tenant) -> str | None:
    session.expire_all()
    return session.get(Tenant, tenant.id).mail_from


def test_admin_sets_the_sender_audited_and_bad_input_is_a_field_error(make, login, session):
    tenant = make.tenant()
    admin = login(make.user(tenant, role="tenant_admin"))
    path = f"/{tenant.slug}/mail/settings"
    refused = admin.post(path, data={"mail_from": "not an address"})
    assert refused.status_code == 422 and b"field-error" in refused.data
    assert sender_of(session, tenant) is None

    assert admin.post(path, data={"mail_from": "office@pole.example.org"}).status_code == 302
    assert sender_of(session, tenant) == "office@pole.example.org"
    with tenant_scope(tenant.id):
        [event] = session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "tenants", AuditEvent.action == "update"
            )
        ).all()
    assert event.changes == {"mail_from": [None, "office@pole.example.org"]}

    assert admin.post(path, data={"mail_from": ""}).status_code == 302  # back to the default
    assert sender_of(session, tenant) is None


def test_test_message_comes_from_the_associations_sender(make, login, session, smtp_server):
    tenant = make.tenant(name="Pôle Mécanique")
    admin_user = make.user(tenant, role="tenant_admin", email="boss@pole.example.org")
    admin = login(admin_user)
    admin.post(f"/{tenant.slug}/mail/settings", data={"mail_from": "office@pole.example.org"})
    assert admin.post(f"/{tenant.slug}/mail/settings/test").status_code == 302
    [message] = smtp_server.messages
    assert message["To"] == "boss@pole.example.org"
    assert "office@pole.example.org" in message["From"] and "Pôle Mécanique" in message["From"]
    assert smtp_server.envelopes[0][0] == "office@pole.example.org"

    smtp_server.refuse.add("boss@pole.example.org")
    page = admin.post(f"/{tenant.slug}/mail/settings/test", follow_redirects=True)
    assert b"could not be sent: 550" in page.data


def test_other_roles_cannot_change_the_sender(make, signed_in, session):
    tenant = make.tenant()
    client = signed_in(make.user(tenant, role="secretariat"))
    assert (
        client.post(
            f"/{tenant.slug}/mail/settings", data={"mail_from": "x@example.org"}
        ).status_code
        == 404
    )
    assert sender_of(session, tenant) is None
