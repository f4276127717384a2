"""The public unsubscribe page: a confirm page, a one-click POST (RFC 8058)
that stops ``may_receive``, audited; bad tokens change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from crm.extensions import db
from crm.mail import consent, unsubscribe
from crm.models import AuditEvent, Contact, EmailConsent
from crm.tenancy import tenant_scope
from tests.conftest import bound_to_rolled_back_connection

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def receiving(session, tenant, purpose) -> set[str]:
    with tenant_scope(tenant.id):
        return set(session.scalars(select(Contact.email).where(consent.may_receive(purpose))))


def consents(session, tenant) -> list[tuple]:
    with tenant_scope(tenant.id):
        query = select(EmailConsent.contact_id, EmailConsent.purpose, EmailConsent.granted)
        return session.execute(query.order_by(EmailConsent.id)).all()


def test_confirm_page_then_one_click_stops_the_purpose(make, client, session):
    tenant = make.tenant(name="Pôle Mécanique")
    org = make.org(tenant)
    ana = make.contact(org, email="ana@example.org").id
    make.contact(org, email="ben@example.org")
    path = f"/unsubscribe/{unsubscribe.token(tenant.id, ana, 'membership')}"

    page = client.get(path)
    assert page.status_code == 200
    assert "Pôle Mécanique" in page.get_data(as_text=True)
    assert b"membership communications" in page.data and b"ana@example.org" in page.data
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert receiving(session, tenant, "membership") == {"ana@example.org", "ben@example.org"}

    done = client.post(path, data=ONE_CLICK)  # what a mail client sends, no session, no CSRF
    assert done.status_code == 200
    assert b"You are unsubscribed" in done.data
    assert receiving(session, tenant, "membership") == {"ben@example.org"}
    assert consents(session, tenant) == [(ana, "membership", False)]
    with tenant_scope(tenant.id):
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "email_consents")
        ).all()
    assert event.action == "create" and event.user_id is None
    assert event.changes["source"] == "unsubscribe"

    assert client.post(path, data=ONE_CLICK).status_code == 200  # again: still refused, once
    assert consents(session, tenant) == [(ana, "membership", False)]


def test_newsletter_consent_given_is_withdrawn(make, client, session):
    tenant = make.tenant()
    ana = make.contact(make.org(tenant), email="ana@example.org")
    with tenant_scope(tenant.id):
        consent.record(session, tenant.id, ana.id, "newsletters", True, "form")
    assert receiving(session, tenant, "newsletters") == {"ana@example.org"}
    client.post(f"/unsubscribe/{unsubscribe.token(tenant.id, ana.id, 'newsletters')}")
    assert receiving(session, tenant, "newsletters") == set()
    assert receiving(session, tenant, "membership") == {"ana@example.org"}  # the other purpose


def test_tampered_or_unknown_tokens_change_nothing(make, client, session):
    tenant = make.tenant(name="Secret Cluster Name")
    ana = make.contact(make.org(tenant), email="ana@example.org")
    good = unsubscribe.token(tenant.id, ana.id, "membership")
    cases = {
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"): 400,  # signature broken
        "not-a-token": 400,
        unsubscribe.token(tenant.id, 10**6, "membership"): 404,  # no such contact
        unsubscribe.token(10**6, ana.id, "membership"): 404,  # no such association
    }
    for token, status in cases.items():
        for method in ("GET", "POST"):
            response = client.open(f"/unsubscribe/{token}", method=method, data=ONE_CLICK)
            assert response.status_code == status, (token, method)
            assert b"Nothing was changed" in response.data
            assert b"ana@example.org" not in response.data
    assert b"Secret Cluster Name" not in client.get(f"/unsubscribe/{good[:-2]}xx").data
    assert consents(session, tenant) == []


def test_another_associations_contact_id_is_not_found(make, client, session):
    """A token names its association: a contact id of another one is not found there."""
    a, b = make.tenant(), make.tenant()
    foreign = make.contact(make.org(b), email="b@example.org")
    response = client.post(f"/unsubscribe/{unsubscribe.token(a.id, foreign.id, 'membership')}")
    assert response.status_code == 404
    assert consents(session, b) == []


def test_erased_or_deleted_contact_gets_a_clear_page(make, client, session):
    tenant = make.tenant()
    org = make.org(tenant)
    erased = make.contact(
        org, email=None, first_name="—", last_name="—", erased_at=datetime.now(UTC)
    )
    deleted = make.contact(org)
    deleted_id = deleted.id
    with tenant_scope(tenant.id):
        session.delete(deleted)
        session.flush()
    response = client.post(f"/unsubscribe/{unsubscribe.token(tenant.id, erased.id, 'membership')}")
    assert response.status_code == 410
    assert b"erased" in response.data
    response = client.get(f"/unsubscribe/{unsubscribe.token(tenant.id, deleted_id, 'membership')}")
    assert response.status_code == 404
    assert b"no longer in our records" in response.data
    assert consents(session, tenant) == []


def test_one_click_needs_no_csrf_token_where_other_forms_do(make_app, make, database_urls):
    """With CSRF on (as in production), the one-click POST still works, and only it."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with bound_to_rolled_back_connection(app), app.app_context():
        from tests.factories import Factories

        make = Factories(db.session)
        tenant = make.tenant()
        ana = make.contact(make.org(tenant), email="ana@example.org")
        client = app.test_client()
        path = f"/unsubscribe/{unsubscribe.token(tenant.id, ana.id, 'membership')}"
        assert client.post(path, data=ONE_CLICK).status_code == 200
        assert client.post("/forgot-password", data={"email": "x@example.org"}).status_code == 400
        assert consents(db.session, tenant) == [(ana.id, "membership", False)]
