"""The one-page new-member form: organisation with address, first membership and
primary contact in one transaction; field errors re-render with nothing written."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crm.models import (
    AssociationMembership,
    AuditEvent,
    Contact,
    MembershipStatusChange,
    Organisation,
)
from tests.members.test_validation import VALID

FULL = {
    **VALID,
    "website": "www.acme.example.fr",
    "street": "12 rue de la Paix",
    "postcode": "75002",
    "status": "active",
    "joined_on": "2026-01-15",
    "fee_tier": "reduced",
    "paid_until": "2026-12-31",
    "first_name": "Claire",
    "last_name": "Martin",
    "email": "claire.martin@acme.example.fr",
    "job_title": "CEO",
    "consent_given": "y",
    "consent_date": "2026-01-15",
    "consent_source": "form",
}
WRITTEN = (Organisation, AssociationMembership, MembershipStatusChange, Contact)


def _nothing_written(assoc) -> bool:
    return all(assoc.count(model) == 0 for model in WRITTEN)


def test_one_page_registers_the_organisation_membership_and_primary_contact(assoc):
    page = assoc.client.get(f"{assoc.url}/members/new").get_data(as_text=True)
    for legend in ("Organisation", "Postal address", "Membership", "Primary contact"):
        assert f"<legend>{legend}</legend>" in page
    response = assoc.client.post(f"{assoc.url}/members/new", data=FULL)
    assert response.status_code == 302, response.get_data(as_text=True)
    (org,) = assoc.scalars(select(Organisation))
    assert (org.street, org.postcode, org.city, org.country) == (
        "12 rue de la Paix",
        "75002",
        "Paris",
        "FR",
    )
    assert org.website == "https://www.acme.example.fr"
    org_id = org.id
    (membership,) = assoc.scalars(select(AssociationMembership))
    assert (membership.organisation_id, membership.status) == (org_id, "active")
    assert (membership.joined_on, membership.fee_tier, membership.paid_until) == (
        date(2026, 1, 15),
        "reduced",
        date(2026, 12, 31),
    )
    (change,) = assoc.scalars(select(MembershipStatusChange))
    assert (change.to_status, change.effective_on) == ("active", date(2026, 1, 15))
    (contact,) = assoc.scalars(select(Contact))
    assert contact.is_primary and contact.full_name == "Claire Martin"
    assert contact.consent_given and contact.consent_source == "form"
    tables = {e.entity_type for e in assoc.scalars(select(AuditEvent))}
    assert {"organisations", "association_memberships", "contacts"} <= tables
    shown = assoc.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "12 rue de la Paix, 75002 Paris, France" in shown and "Claire Martin" in shown


def test_organisation_alone_is_still_accepted(assoc):
    response = assoc.client.post(f"{assoc.url}/members/new", data={**VALID, "status": ""})
    assert response.status_code == 302
    assert assoc.count(Organisation) == 1 and assoc.count(AssociationMembership) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not an address"}, "email", "e-mail address"),
        ({"paid_until": "2025-01-01"}, "paid_until", "paid until before it starts"),
        ({"first_name": ""}, "first_name", "Enter the contact"),
        ({"consent_date": ""}, "consent_date", "when and how consent was given"),
        ({"status": "lapsed"}, "status", "Not a valid choice"),
        ({"status": "", "fee_tier": "standard"}, "status", "Choose the membership status"),
        ({"postcode": "7" * 21}, "postcode", "20 characters"),
        ({"website": "acme dot fr"}, "website", "web address"),
    ],
)
def test_field_errors_rerender_and_nothing_is_written(assoc, changes, field, message):
    response = assoc.client.post(f"{assoc.url}/members/new", data={**FULL, **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert 'value="12 rue de la Paix"' in page  # what was typed is kept
    assert _nothing_written(assoc)
