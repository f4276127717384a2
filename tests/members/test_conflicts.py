"""Stale edits: a save from a form opened before someone else's save is refused
(409, the conflict page) and overwrites nothing; the merged form saves both."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from crm.models import AssociationMembership, Contact, Organisation
from tests.members.test_validation import VALID


def opened_version(page: str) -> str:
    """The version a form page carries in its hidden field."""
    match = re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', page)
    assert match, "the form carries no version"
    return match.group(1)


def field_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    return match.group(1) if match else None


def test_a_stale_save_is_refused_and_the_merge_keeps_both(assoc, make, signed_in):
    org = make.org(assoc.tenant, name="Acme Robotics", city="Paris", description="Robots.")
    org_id = org.id
    colleague = make.user(assoc.tenant, role="secretariat")
    colleague_name = colleague.name
    a = signed_in(colleague)
    b = assoc.client
    edit = f"{assoc.url}/members/{org_id}/edit"
    form_a = a.get(edit).get_data(as_text=True)
    form_b = b.get(edit).get_data(as_text=True)  # B opens the form before A saves
    assert opened_version(form_a) == opened_version(form_b) == "1"

    saved = a.post(
        edit,
        data={**VALID, "city": "Lyon", "description": "Robots.", "version": opened_version(form_a)},
    )
    assert saved.status_code == 302

    stale = b.post(
        edit,
        data={
            **VALID,
            "city": "Paris",  # as B opened it
            "description": "Industrial robots and cobots.",
            "version": opened_version(form_b),
        },
    )
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    (org,) = assoc.scalars(select(Organisation).where(Organisation.id == org_id))
    assert org.city == "Lyon" and org.description == "Robots."  # nothing overwritten
    assert org.version == 2
    assert "Someone changed this record since you opened it" in page
    assert colleague_name in page and "City" in page  # who changed what
    # The merged form: A's city (B did not change it), B's description, the new version.
    assert field_value(page, "city") == "Lyon"
    assert "Industrial robots and cobots." in page
    assert opened_version(page) == "2"

    merged = b.post(
        edit,
        data={
            **VALID,
            "city": field_value(page, "city"),
            "description": "Industrial robots and cobots.",
            "version": opened_version(page),
        },
    )
    assert merged.status_code == 302
    (org,) = assoc.scalars(select(Organisation).where(Organisation.id == org_id))
    assert (org.city, org.description, org.version) == ("Lyon", "Industrial robots and cobots.", 3)


def test_both_changing_one_field_shows_the_current_value_and_yours(assoc, make):
    org = make.org(assoc.tenant, name="Acme Robotics", city="Paris")
    edit = f"{assoc.url}/members/{org.id}/edit"
    org_id = org.id
    assert (
        assoc.client.post(edit, data={**VALID, "city": "Lyon", "version": "1"}).status_code == 302
    )
    stale = assoc.client.post(edit, data={**VALID, "city": "Lille", "version": "1"})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert field_value(page, "city") == "Lyon"  # the current value, not overwritten
    assert "Lille" in page and "you both changed it" in page
    (org,) = assoc.scalars(select(Organisation).where(Organisation.id == org_id))
    assert org.city == "Lyon"


def test_a_form_without_a_version_still_saves(assoc, make):
    """Forms posted without the hidden field (scripts, older pages) are not refused."""
    org = make.org(assoc.tenant, name="Acme Robotics")
    response = assoc.client.post(f"{assoc.url}/members/{org.id}/edit", data=VALID)
    assert response.status_code == 302


def test_stale_contact_and_membership_terms_are_refused(assoc, make):
    org = make.org(assoc.tenant, name="Acme Robotics")
    contact = make.contact(org, first_name="Ana", last_name="Lopez", job_title="CEO")
    membership = make.membership(org, fee_tier="standard")
    contact_id, membership_id, org_id = contact.id, membership.id, org.id
    contact_url = f"{assoc.url}/contacts/{contact_id}/edit"
    person = {"first_name": "Ana", "last_name": "Lopez", "consent_source": ""}
    assert (
        assoc.client.post(contact_url, data={**person, "job_title": "CTO", "version": "1"})
    ).status_code == 302
    stale = assoc.client.post(contact_url, data={**person, "phone": "+33 1", "version": "1"})
    assert stale.status_code == 409
    (contact,) = assoc.scalars(select(Contact).where(Contact.id == contact_id))
    assert (contact.job_title, contact.phone) == ("CTO", None)
    assert field_value(stale.get_data(as_text=True), "job_title") == "CTO"

    terms_url = f"{assoc.url}/members/{org_id}/terms"
    assert (
        assoc.client.post(terms_url, data={"fee_tier": "reduced", "version": "1"})
    ).status_code == 302
    stale = assoc.client.post(
        terms_url, data={"fee_tier": "standard", "paid_until": "2027-01-01", "version": "1"}
    )
    assert stale.status_code == 409
    (membership,) = assoc.scalars(
        select(AssociationMembership).where(AssociationMembership.id == membership_id)
    )
    assert (membership.fee_tier, membership.paid_until) == ("reduced", None)

    # The status form: opened before the terms changed, refused too.
    status_url = f"{assoc.url}/members/{org_id}/status"
    stale = assoc.client.post(
        status_url,
        data={
            "status": "suspended",
            "effective_on": date.today().isoformat(),
            "reason": "Unpaid",
            "version": "1",
        },
    )
    assert stale.status_code == 409
    (membership,) = assoc.scalars(
        select(AssociationMembership).where(AssociationMembership.id == membership_id)
    )
    assert membership.status == "active"


def test_a_change_of_clusters_alone_makes_a_new_version(assoc, make):
    org = make.org(assoc.tenant, name="Acme Robotics")
    cluster = make.cluster(assoc.tenant, name="Systematic")
    edit = f"{assoc.url}/members/{org.id}/edit"
    org_id, cluster_id = org.id, cluster.id
    assert assoc.client.post(edit, data={**VALID, "version": "1"}).status_code == 302
    data = {**VALID, "version": "2"}
    saved = assoc.client.post(edit, data={**data, "cluster_ids": [str(cluster_id)]})
    assert saved.status_code == 302
    (org,) = assoc.scalars(select(Organisation).where(Organisation.id == org_id))
    assert org.version == 3
    # A form opened before would silently drop the cluster: refused instead.
    stale = assoc.client.post(edit, data={**data, "description": "New."})
    assert stale.status_code == 409
    assert "Member of clusters" in stale.get_data(as_text=True)
