"""Saved segments: save the directory's filters, list, open, rename, delete; audited;
unknown filters ignored with a notice; the ids a segment stands for."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from crm.models import AuditEvent, Segment
from crm.segments import queries
from crm.tenancy import tenant_scope


def _query(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_a_segment_round_trips_the_directory_filters(assoc, make, session):
    # Ids, not rows, across requests: a request expires the rows, and outside the
    # tenant's scope they cannot be loaded again (RLS on PostgreSQL).
    tag_id = make.tag(assoc.tenant, name="Board").id
    args = "kind=firm&status=active&region=FRK&tag={}&contact_role=management&programme=HE"
    args = args.format(tag_id)
    page = assoc.client.get(f"{assoc.url}/members?{args}").get_data(as_text=True)
    assert "Save these filters as a segment" not in page  # no rows, no bulk bar
    form = assoc.client.get(f"{assoc.url}/segments/new?source=members&{args}&page=3")
    assert form.status_code == 200
    saved = assoc.client.post(
        f"{assoc.url}/segments/new?source=members&{args}&page=3", data={"name": "Board firms"}
    )
    assert saved.status_code == 302
    (segment,) = assoc.scalars(select(Segment))
    segment_id, saved_filters = segment.id, segment.filters
    assert segment.source == "members"
    assert segment.filters == {
        "kind": "firm",
        "status": "active",
        "region": "FRK",
        "tag": str(tag_id),
        "contact_role": "management",
        "programme": "HE",
    }
    listing = assoc.client.get(f"{assoc.url}/segments").get_data(as_text=True)
    assert "Board firms" in listing
    opened = assoc.client.get(f"{assoc.url}/segments/{segment_id}")
    assert opened.status_code == 302
    assert urlsplit(opened.headers["Location"]).path == f"{assoc.url}/members"
    assert _query(opened.headers["Location"]) == {**saved_filters, "segment": str(segment_id)}

    renamed = assoc.client.post(
        f"{assoc.url}/segments/{segment_id}/edit", data={"name": "Board firms 2027"}
    )
    assert renamed.status_code == 302
    assert assoc.scalars(select(Segment.name)) == ["Board firms 2027"]
    assert assoc.client.post(f"{assoc.url}/segments/{segment_id}/delete").status_code == 302
    assert assoc.scalars(select(Segment)) == []
    with tenant_scope(assoc.tenant.id):
        actions = session.execute(
            select(AuditEvent.action, AuditEvent.user_id)
            .where(AuditEvent.entity_type == "segments", AuditEvent.entity_id == segment_id)
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [(a, assoc.user.id) for a in ("create", "update", "delete")]


def test_bad_names_re_render_with_field_errors(assoc, make):
    make.segment(assoc.tenant, name="Overdue")
    empty = assoc.client.post(f"{assoc.url}/segments/new?kind=firm", data={"name": " "})
    assert empty.status_code == 422 and "Name the segment." in empty.get_data(as_text=True)
    taken = assoc.client.post(f"{assoc.url}/segments/new?kind=firm", data={"name": "overdue"})
    assert taken.status_code == 422
    assert "Another segment has this name" in taken.get_data(as_text=True)
    long = assoc.client.post(f"{assoc.url}/segments/new", data={"name": "x" * 121})
    assert long.status_code == 422


def test_unknown_filters_are_ignored_with_a_notice(assoc, make):
    """Filters evolve: a key the list no longer knows, or a value no longer valid."""
    segment = make.segment(
        assoc.tenant, name="Old", filters={"kind": "firm", "colour": "blue", "status": "gone"}
    ).id
    opened = assoc.client.get(f"{assoc.url}/segments/{segment}")
    assert _query(opened.headers["Location"]) == {"kind": "firm", "segment": str(segment)}
    page = assoc.client.get(opened.headers["Location"]).get_data(as_text=True)
    assert "no longer available and were ignored: colour=blue, status=gone" in page


def test_organisation_and_contact_ids_of_a_segment(assoc, make, session):
    firm = make.org(assoc.tenant, name="Firm A")
    make.membership(firm)
    other = make.org(assoc.tenant, kind="university", name="Uni B")
    alive = make.contact(firm, role="management")
    make.contact(firm, role="management", erased_at=firm.created_at, email=None)
    make.contact(other, role="research")
    foreign = make.tenant()
    make.contact(make.org(foreign, name="Firm A"), role="management")
    segment = make.segment(assoc.tenant, filters={"kind": "firm"})
    people = make.segment(assoc.tenant, filters={"role": "research"}, source="contacts")
    tid = assoc.tenant.id
    with tenant_scope(tid):
        assert session.scalars(queries.organisation_ids(tid, segment)).all() == [firm.id]
        assert session.scalars(queries.contact_ids(tid, segment)).all() == [alive.id]
        assert session.scalars(queries.organisation_ids(tid, people)).all() == [other.id]
        assert sorted(session.scalars(queries.contact_ids(tid, {"kind": "firm"}))) == [alive.id]
        assert session.scalars(
            queries.contact_ids(tid, {"role": "management"}, source="contacts")
        ).all() == [alive.id]
