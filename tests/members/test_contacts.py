"""Contacts: create, edit, delete, one primary, GDPR consent, export and erasure."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from crm.models import AuditEvent, Contact


def contacts(assoc, org_id):
    return assoc.scalars(
        select(Contact).where(Contact.organisation_id == org_id).order_by(Contact.id)
    )


PERSON = {
    "first_name": "Ana",
    "last_name": "Lopes",
    "email": "ana.lopes@example.org",
    "phone": "+33 1 23 45 67 89",
    "job_title": "Director",
    "consent_given": "y",
    "consent_date": "2025-03-01",
    "consent_source": "form",
}


def test_create_edit_delete(assoc, make):
    org_id = make.org(assoc.tenant).id
    response = assoc.client.post(f"{assoc.url}/members/{org_id}/contacts/new", data=PERSON)
    assert response.status_code == 302
    (contact,) = contacts(assoc, org_id)
    assert contact.consent_given and contact.consent_source == "form"
    cid = contact.id
    response = assoc.client.post(
        f"{assoc.url}/contacts/{cid}/edit", data={**PERSON, "job_title": "CEO"}
    )
    assert response.status_code == 302
    assert contacts(assoc, org_id)[0].job_title == "CEO"
    assert assoc.client.post(f"{assoc.url}/contacts/{cid}/delete").status_code == 302
    assert contacts(assoc, org_id) == []


def test_contact_validation(assoc, make):
    org_id = make.org(assoc.tenant).id
    for data, field in (
        ({**PERSON, "email": "not-an-address"}, "email"),
        ({**PERSON, "first_name": ""}, "first_name"),
        ({**PERSON, "consent_date": ""}, "consent_date"),  # consent needs a date ...
        ({**PERSON, "consent_source": ""}, "consent_source"),  # ... and a source
        ({**PERSON, "consent_source": "rumour"}, "consent_source"),
        ({**PERSON, "consent_date": "31/31/2025"}, "consent_date"),
    ):
        response = assoc.client.post(f"{assoc.url}/members/{org_id}/contacts/new", data=data)
        assert response.status_code == 422, data
        assert f'id="{field}-error"' in response.get_data(as_text=True), field
    assert contacts(assoc, org_id) == []


def test_one_primary_contact_per_organisation(assoc, make):
    org = make.org(assoc.tenant)
    other_org = make.org(assoc.tenant)
    first = make.contact(org, is_primary=True)
    other_primary = make.contact(other_org, is_primary=True)
    org_id, first_id, other_org_id = org.id, first.id, other_org.id
    assert other_primary.is_primary
    response = assoc.client.post(
        f"{assoc.url}/members/{org_id}/contacts/new",
        data={**PERSON, "is_primary": "y"},
    )
    assert response.status_code == 302
    rows = {c.id: c.is_primary for c in contacts(assoc, org_id)}
    assert rows[first_id] is False and sum(rows.values()) == 1
    assert contacts(assoc, other_org_id)[0].is_primary  # another organisation's is untouched
    # Making the first one primary again moves the flag back.
    assoc.client.post(
        f"{assoc.url}/contacts/{first_id}/edit",
        data={**PERSON, "first_name": "Back", "is_primary": "y"},
    )
    rows = {c.id: c.is_primary for c in contacts(assoc, org_id)}
    assert rows[first_id] is True and sum(rows.values()) == 1


def test_export_everything_held_about_a_person(assoc, make):
    org = make.org(assoc.tenant, name="Data Corp")
    org_id = org.id
    assoc.client.post(f"{assoc.url}/members/{org_id}/contacts/new", data=PERSON)
    cid = contacts(assoc, org_id)[0].id
    response = assoc.client.get(f"{assoc.url}/contacts/{cid}/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["contact"]["email"] == "ana.lopes@example.org"
    assert data["consent"] == {"given": True, "date": "2025-03-01", "source": "form"}
    assert data["organisation"]["name"] == "Data Corp"
    assert data["history"][0]["action"] == "create"


def test_erasure_anonymises_keeps_counts_and_scrubs_the_audit_trail(assoc, make):
    org = make.org(assoc.tenant)
    make.contact(org)  # someone else, untouched
    org_id = org.id
    assoc.client.post(
        f"{assoc.url}/members/{org_id}/contacts/new", data={**PERSON, "is_primary": "y"}
    )
    cid = contacts(assoc, org_id)[-1].id
    assoc.client.post(
        f"{assoc.url}/contacts/{cid}/edit", data={**PERSON, "email": "ana@private.example"}
    )
    before = assoc.count(Contact)
    response = assoc.client.post(f"{assoc.url}/contacts/{cid}/erase")
    assert response.status_code == 302
    assert assoc.count(Contact) == before  # counts stay right
    erased = assoc.scalars(select(Contact).where(Contact.id == cid))[0]
    assert erased.erased_at is not None
    assert erased.email is None and erased.phone is None and erased.job_title is None
    assert "Lopes" not in erased.full_name and not erased.is_primary
    assert not erased.consent_given
    events = assoc.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "contacts", AuditEvent.entity_id == cid)
    )
    assert len(events) >= 3  # create, update, erase: actions kept ...
    dumped = json.dumps([e.changes for e in events])
    for secret in ("Lopes", "ana.lopes@example.org", "ana@private.example", "+33"):
        assert secret not in dumped  # ... personal values gone
    assoc.client.get(f"{assoc.url}/members")  # shows (and drops) the pending flash messages
    page = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    assert "erased" in page and "Lopes" not in page
    # An erased contact cannot be edited back into a person.
    assert assoc.client.get(f"{assoc.url}/contacts/{cid}/edit").status_code == 302
    export = json.loads(assoc.client.get(f"{assoc.url}/contacts/{cid}/export.json").data)
    assert export["contact"]["email"] is None and "Lopes" not in json.dumps(export)


def test_erased_contacts_still_count_on_the_dashboard_scale(assoc, make, session):
    from crm.tenancy import tenant_scope

    org = make.org(assoc.tenant)
    for _ in range(3):
        make.contact(org)
    cid = make.contact(org).id
    assoc.client.post(f"{assoc.url}/contacts/{cid}/erase")
    with tenant_scope(assoc.tenant.id):
        assert session.scalar(select(func.count(Contact.id))) == 4
