"""The activity timeline: every source, newest first, "show more", the form on
the organisation's and the contact's page, and a bounded statement count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from crm.activities import timeline
from crm.models import Activity, AuditEvent, MembershipStatusChange
from crm.tenancy import tenant_scope
from tests.accounts.support import tenant_events


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def _history(make, session, assoc):
    """An organisation with activities, status changes and payments on known days."""
    org = make.org(assoc.tenant, name="Timeline Firm")
    person = make.contact(org, first_name="Iris", last_name="Nowak")
    membership = make.membership(org, status="active")
    for day, to_status in ((2, "applicant"), (9, "active")):
        session.add(
            MembershipStatusChange(
                tenant_id=org.tenant_id,
                membership_id=membership.id,
                to_status=to_status,
                effective_on=date(2026, 3, day),
                reason=f"change on {day}",
                changed_by_id=assoc.user.id,
            )
        )
    make.payment(membership, "120.00", paid_on=date(2026, 3, 5), reference="R-5")
    make.activity(org, "call", subject="Call on 4", occurred_at=_at(4))
    make.activity(org, "meeting", person, subject="Meeting on 7", occurred_at=_at(7, 9))
    make.activity(org, "note", person, subject="Note on 10", occurred_at=_at(10))
    elsewhere = make.org(assoc.tenant, name="Another Firm")
    make.activity(elsewhere, "note", subject="Not this one", occurred_at=_at(11))
    session.flush()
    return org, person


def test_the_organisation_timeline_merges_every_source_newest_first(assoc, make, session):
    org, person = _history(make, session, assoc)
    with tenant_scope(assoc.tenant.id):
        got = timeline.organisation_timeline(org.id)
        person_line = timeline.contact_timeline(person.id)
    assert [(e.kind, e.at.date().day) for e in got.entries] == [
        ("note", 10),
        ("status", 9),
        ("meeting", 7),
        ("payment", 5),
        ("call", 4),
        ("status", 2),
    ]
    assert not got.more
    status = got.entries[1]
    assert status.title == "Membership: none → Active" and status.who == assoc.user.name
    payment = got.entries[3]
    assert "€120.00 (Bank transfer)" in payment.title and "R-5" in payment.detail
    assert got.entries[0].contact == "Iris Nowak"
    # The contact's timeline: their activities only.
    assert [e.title for e in person_line.entries] == ["Note: Note on 10", "Meeting: Meeting on 7"]


# Objects are expired after each request, and on PostgreSQL RLS hides their rows
# outside the tenant's scope: the tests below keep plain ids, and make rows after
# a request in the tenant's scope.


def test_show_more_and_bounded_statements(assoc, make, session, count_queries):
    org = make.org(assoc.tenant, name="Busy Firm")
    membership = make.membership(org)
    person = make.contact(org)
    org_id = org.id

    def page(**args):
        with count_queries() as counter:
            response = assoc.client.get(f"{assoc.url}/members/{org_id}", query_string=args)
        assert response.status_code == 200
        return counter.count, response.get_data(as_text=True)

    make.activity(org, subject="First entry", occurred_at=_at(1))
    few, html = page()
    assert "First entry" in html and "Show more" not in html
    with tenant_scope(assoc.tenant.id):
        for n in range(30):
            make.activity(org, subject=f"Entry {n:02d}", occurred_at=_at(2) + timedelta(hours=n))
            make.payment(membership, "1.00", paid_on=date(2025, 1, 1) + timedelta(days=n))
        make.activity(org, "meeting", person, subject="With someone")
    many, html = page()
    assert many == few  # one statement per source, whatever the rows
    timeline_html = html[html.index('id="timeline"') :]
    assert timeline_html.count('<li class="timeline-') == timeline.PAGE
    assert "Entry 29" in timeline_html and "First entry" not in timeline_html
    assert "Show more" in timeline_html and "timeline=40#timeline" in timeline_html
    _, html = page(timeline="100")
    assert html[html.index('id="timeline"') :].count('<li class="timeline-') == 62


def test_adding_in_place_and_errors(assoc, make, session):
    org = make.org(assoc.tenant, name="Noted Firm")
    org_id = org.id
    person_id = make.contact(org, first_name="Jan", last_name="Novák").id
    stranger_id = make.contact(make.org(assoc.tenant)).id
    url = f"{assoc.url}/members/{org_id}/activities"
    ok = assoc.client.post(
        url,
        data={
            "kind": "call",
            "subject": "Renewal call",
            "body": "Will pay next week.",
            "occurred_at": "2026-03-04T10:30",
            "contact_id": str(person_id),
        },
    )
    assert ok.status_code == 302 and ok.headers["Location"].endswith(f"/members/{org_id}#timeline")
    (activity,) = assoc.scalars(select(Activity))
    assert (activity.kind, activity.contact_id, activity.author_id) == (
        "call",
        person_id,
        assoc.user.id,
    )
    # Typed in the association's time zone (Paris, UTC+1 in March), kept in UTC.
    assert activity.occurred_at.replace(tzinfo=UTC) == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    assert tenant_events(session, assoc.tenant.id, AuditEvent.entity_type == "activities")
    for bad in (
        {"kind": "note", "subject": "", "occurred_at": "2026-03-04T10:30"},
        {"kind": "lunch", "subject": "x", "occurred_at": "2026-03-04T10:30"},
        {"kind": "note", "subject": "x", "occurred_at": "tomorrow"},
        {"kind": "note", "subject": "x", "occurred_at": "2026-03-04T10:30", "contact_id": "abc"},
    ):
        assert assoc.client.post(url, data=bad).status_code == 422, bad
    foreign = {"kind": "note", "subject": "x", "occurred_at": "2026-03-04T10:30"}
    refused = assoc.client.post(url, data={**foreign, "contact_id": str(stranger_id)})
    assert refused.status_code == 422
    assert "Choose one of this organisation&#39;s contacts" in refused.get_data(as_text=True)
    assert len(assoc.scalars(select(Activity))) == 1
    # From the contact's page, the contact is the page's.
    contact_url = f"{assoc.url}/contacts/{person_id}"
    added = assoc.client.post(f"{contact_url}/activities", data={**foreign, "subject": "Met Jan"})
    assert added.status_code == 302 and added.headers["Location"].endswith("#timeline")
    page = assoc.client.get(contact_url).get_data(as_text=True)
    assert "Met Jan" in page and "Renewal call" in page and "Jan Novák" in page


def test_delete_an_entry_and_a_deleted_contact_leaves_its_notes(assoc, make, session):
    org = make.org(assoc.tenant)
    person = make.contact(org)
    kept = make.activity(org, "meeting", person, subject="Kept meeting")
    org_id, person_id, kept_id = org.id, person.id, kept.id
    gone_id = make.activity(org, subject="Wrong note").id
    response = assoc.client.post(f"{assoc.url}/activities/{gone_id}/delete")
    assert response.status_code == 302
    assert [a.subject for a in assoc.scalars(select(Activity))] == ["Kept meeting"]
    assert assoc.client.post(f"{assoc.url}/contacts/{person_id}/delete").status_code == 302
    (left,) = assoc.scalars(select(Activity))
    assert left.id == kept_id and left.contact_id is None
    page = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    assert "Kept meeting" in page
