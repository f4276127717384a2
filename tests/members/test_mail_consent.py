"""E-mail consent per purpose on the contact form and page: edited, shown with
date and source, audited, and what ``may_receive`` obeys."""

from __future__ import annotations

import json

from sqlalchemy import select

from crm.mail import consent
from crm.models import AuditEvent, Contact, EmailConsent
from crm.tenancy import tenant_scope
from tests.members.test_contacts import PERSON


def answers(assoc, contact_id) -> dict:
    rows = assoc.scalars(select(EmailConsent).where(EmailConsent.contact_id == contact_id))
    return {c.purpose: (c.granted, c.source) for c in rows}


def test_consent_per_purpose_is_edited_shown_and_audited(assoc, make):
    org_id = make.org(assoc.tenant).id
    new = {**PERSON, "mail_membership": "", "mail_newsletters": "granted"}
    assert (
        assoc.client.post(f"{assoc.url}/members/{org_id}/contacts/new", data=new).status_code == 302
    )
    [cid] = assoc.scalars(select(Contact.id).where(Contact.organisation_id == org_id))
    assert answers(assoc, cid) == {"newsletters": (True, "form")}

    form = assoc.client.get(f"{assoc.url}/contacts/{cid}/edit").get_data(as_text=True)
    assert '<option selected value="granted">Agreed</option>' in form
    assert "Now: agreed on" in form and "(entered by staff)" in form

    edit = {**PERSON, "mail_membership": "refused", "mail_newsletters": ""}
    assert assoc.client.post(f"{assoc.url}/contacts/{cid}/edit", data=edit).status_code == 302
    assert answers(assoc, cid) == {"membership": (False, "form")}
    receiving = assoc.scalars(select(Contact.id).where(consent.may_receive("membership")))
    assert cid not in receiving

    page = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    assert "Membership communications: <strong>refused</strong>" in page
    assert 'Newsletters and events: <small class="muted">not said</small>' in page

    events = assoc.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "email_consents").order_by(AuditEvent.id)
    )
    assert [e.action for e in events] == ["create", "create", "delete"]
    assert {e.user_id for e in events} == {assoc.user.id}
    assert events[1].changes["contact_id"] == cid and events[1].changes["granted"] is False

    exported = json.loads(assoc.client.get(f"{assoc.url}/contacts/{cid}/export.json").data)
    assert [(c["purpose"], c["granted"], c["source"]) for c in exported["email_consents"]] == [
        ("membership", False, "form")
    ]


def test_unchanged_answer_keeps_its_date_and_source(assoc, make, session):
    contact = make.contact(make.org(assoc.tenant), email="ana@example.org")
    cid = contact.id
    with tenant_scope(assoc.tenant.id):
        consent.record(session, assoc.tenant.id, cid, "membership", False, "unsubscribe")
    edit = {**PERSON, "email": "ana@example.org", "mail_membership": "refused"}
    assert assoc.client.post(f"{assoc.url}/contacts/{cid}/edit", data=edit).status_code == 302
    assert answers(assoc, cid) == {"membership": (False, "unsubscribe")}
    # A post without the consent fields (an older form) leaves the answers alone.
    plain = {**PERSON, "email": "ana@example.org"}
    assert assoc.client.post(f"{assoc.url}/contacts/{cid}/edit", data=plain).status_code == 302
    assert answers(assoc, cid) == {"membership": (False, "unsubscribe")}


def test_bad_consent_value_is_a_field_error(assoc, make):
    org_id = make.org(assoc.tenant).id
    bad = {**PERSON, "mail_newsletters": "maybe"}
    response = assoc.client.post(f"{assoc.url}/members/{org_id}/contacts/new", data=bad)
    assert response.status_code == 422
    assert 'id="mail_newsletters-error"' in response.get_data(as_text=True)


def test_contact_page_reads_consents_in_one_query(assoc, make, session, count_queries):
    org = make.org(assoc.tenant)
    page = f"{assoc.url}/members/{org.id}"
    with tenant_scope(assoc.tenant.id):  # the org is read again after each request (RLS)
        for purpose in ("membership", "newsletters"):
            consent.record(session, assoc.tenant.id, make.contact(org).id, purpose, True, "form")
        with count_queries() as few:
            assoc.client.get(page)
        for _ in range(10):
            consent.record(
                session, assoc.tenant.id, make.contact(org).id, "membership", False, "form"
            )
        with count_queries() as many:
            assert "refused" in assoc.client.get(page).get_data(as_text=True)
    assert many.count == few.count
