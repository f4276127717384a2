"""Every way into a mailing names exactly its list: a segment (of the directory
or of the contacts list), the contacts list's filters, and a renewal list (a
filter of the directory). Checked against a plain computation."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crm.extensions import db
from crm.mail import consent
from crm.mailings import audience
from crm.models import Activity
from crm.tenancy import tenant_scope


def _recipients(tenant, chosen: dict, purpose: str = "membership") -> set[str]:
    with tenant_scope(tenant.id):
        return {
            row.email for row in db.session.execute(audience.contacts(chosen, purpose, tenant.id))
        }


def _world(make, session, tenant):
    """Three firms: one overdue, one paid ahead, one applicant; a university with a
    contact of role management; one contact who refused membership mail."""
    today = date.today()
    overdue = make.org(tenant, name="Overdue Firm")
    make.membership(overdue, paid_until=today - timedelta(days=40))
    ahead = make.org(tenant, name="Paid Firm")
    make.membership(ahead, paid_until=today + timedelta(days=200))
    applicant = make.org(tenant, name="Applicant Firm")
    make.membership(applicant, status="applicant")
    university = make.org(tenant, kind="university", name="Uni")
    people = {
        "overdue": make.contact(overdue, email="a@overdue.example"),
        "overdue2": make.contact(overdue, email="b@overdue.example"),
        "ahead": make.contact(ahead, email="c@ahead.example"),
        "applicant": make.contact(applicant, email="d@applicant.example"),
        "boss": make.contact(university, email="boss@uni.example", role="management"),
        "staff": make.contact(university, email="staff@uni.example"),
    }
    with tenant_scope(tenant.id):
        consent.record(session, tenant.id, people["overdue2"].id, "membership", False, "form")
    return people


def test_each_audience_kind_names_its_list(app, make, session):
    tenant = make.tenant()
    _world(make, session, tenant)
    other = make.tenant()
    make.contact(make.org(other, name="Overdue Firm"), email="x@other.example")

    firms = make.segment(tenant, filters={"kind": "firm"})
    managers = make.segment(tenant, filters={"role": "management"}, source="contacts")
    assert _recipients(tenant, {"kind": "segment", "args": {"segment": str(firms.id)}}) == {
        "a@overdue.example", "c@ahead.example", "d@applicant.example"
    }  # fmt: skip
    # A contacts-list segment mails the matching contacts, not their colleagues.
    assert _recipients(tenant, {"kind": "segment", "args": {"segment": str(managers.id)}}) == {
        "boss@uni.example"
    }
    assert _recipients(tenant, {"kind": "contacts", "args": {"role": "management"}}) == {
        "boss@uni.example"
    }
    # A renewal list, a filter of the directory (overdue: active, paid-until past),
    # the refusal respected.
    assert _recipients(tenant, {"kind": "directory", "args": {"renewal": "overdue"}}) == {
        "a@overdue.example"
    }
    assert _recipients(tenant, {"kind": "directory", "args": {"renewal": "applicants"}}) == {
        "d@applicant.example"
    }
    # A renewal list narrowed by another filter stays narrowed (no firm is a university).
    narrowed = {"kind": "directory", "args": {"renewal": "overdue", "kind": "university"}}
    assert _recipients(tenant, narrowed) == set()
    # A segment deleted since the mailing was written: nobody, never everybody.
    assert _recipients(tenant, {"kind": "segment", "args": {"segment": "999999"}}) == set()


def test_the_new_mailing_page_reads_each_way_in(assoc, make, session):
    _world(make, session, assoc.tenant)
    segment = make.segment(
        assoc.tenant, name="Managers", filters={"role": "management"}, source="contacts"
    )

    page = assoc.client.get(f"{assoc.url}/mailings/new?segment={segment.id}").get_data(as_text=True)
    assert "Segment “Managers”" in page
    page = assoc.client.get(f"{assoc.url}/mailings/new?renewal=overdue").get_data(as_text=True)
    assert "Renewal list: Overdue" in page
    page = assoc.client.get(f"{assoc.url}/mailings/new?source=contacts&role=management")
    assert "Contacts list filtered by role = management" in page.get_data(as_text=True)


def test_the_directory_shows_a_renewal_list(assoc, make, session):
    _world(make, session, assoc.tenant)
    page = assoc.client.get(f"{assoc.url}/members?renewal=overdue").get_data(as_text=True)
    assert "Overdue Firm" in page and "Paid Firm" not in page and "Applicant Firm" not in page
    assert 'id="renewal-filter"' in page
    renewals = assoc.client.get(f"{assoc.url}/renewals?list=overdue").get_data(as_text=True)
    assert f'href="{assoc.url}/members?renewal=overdue"' in renewals


def test_mail_sent_is_on_the_timelines(assoc, make, session):
    people = _world(make, session, assoc.tenant)
    contact = people["overdue"]
    contact_id, org_id, email = contact.id, contact.organisation_id, contact.email
    mailing = make.mailing(assoc.tenant, status="sent", subject="Your renewal")
    from crm.models import MailingRecipient
    from crm.models.base import utcnow

    with tenant_scope(assoc.tenant.id):
        session.add(
            MailingRecipient(
                tenant_id=assoc.tenant.id,
                mailing_id=mailing.id,
                contact_id=contact_id,
                email=email,
                subject="Your renewal, Overdue Firm",
                status="sent",
                sent_at=utcnow(),
            )
        )
        session.flush()
        assert session.scalars(select(Activity)).all() == []
    org_page = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    contact_page = assoc.client.get(f"{assoc.url}/contacts/{contact_id}").get_data(as_text=True)
    for page in (org_page, contact_page):
        assert "E-mail: Your renewal, Overdue Firm" in page
