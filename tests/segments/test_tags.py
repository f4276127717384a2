"""Tags: put on and taken off an organisation and a contact, shown as chips,
filtered on, managed (rename, delete), audited; never across associations."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from crm.models import AuditEvent, Tag, contact_tags, organisation_tags
from crm.tenancy import tenant_scope
from tests.sql import as_tenant


def _links(session, tenant_id, table) -> list:
    with tenant_scope(tenant_id):
        return session.execute(select(table).where(table.c.tenant_id == tenant_id)).all()


def test_tag_an_organisation_and_a_contact_from_their_page(assoc, make, session):
    org = make.org(assoc.tenant, name="Acme Robotics")
    person = make.contact(org, first_name="Ana", last_name="Lopez")
    # Ids, not rows: a request expires the rows, which outside the tenant's scope
    # cannot be loaded again (RLS on PostgreSQL).
    org_id, person_id = org.id, person.id
    added = assoc.client.post(f"{assoc.url}/members/{org_id}/tags", data={"name": " Board  2027 "})
    assert added.status_code == 302
    (tag,) = assoc.scalars(select(Tag))
    tag_id = tag.id
    assert tag.name == "Board 2027"
    # The same name in another case is the same tag, on the contact now.
    assert (
        assoc.client.post(f"{assoc.url}/contacts/{person_id}/tags", data={"name": "board 2027"})
    ).status_code == 302
    assert assoc.count(Tag) == 1
    page = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    assert page.count('class="chip"') == 2 and "Board 2027" in page
    assert _links(session, assoc.tenant.id, organisation_tags) == [
        (assoc.tenant.id, tag_id, org_id)
    ]
    assert _links(session, assoc.tenant.id, contact_tags) == [(assoc.tenant.id, tag_id, person_id)]
    # Filtered on in both lists.
    listed = assoc.client.get(f"{assoc.url}/members?tag={tag_id}").get_data(as_text=True)
    assert "Acme Robotics" in listed
    people = assoc.client.get(f"{assoc.url}/contacts?tag={tag_id}").get_data(as_text=True)
    assert "Lopez" in people
    removed = assoc.client.post(f"{assoc.url}/members/{org_id}/tags/{tag_id}/remove")
    assert removed.status_code == 302
    assert _links(session, assoc.tenant.id, organisation_tags) == []
    with tenant_scope(assoc.tenant.id):
        events = session.execute(
            select(
                AuditEvent.action, AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.changes
            )
            .where(AuditEvent.action.in_(("tag", "untag")))
            .order_by(AuditEvent.id)
        ).all()
    assert events == [
        ("tag", "organisations", org_id, {"tags": {"added": "Board 2027"}}),
        ("tag", "contacts", person_id, {"tags": {"added": "Board 2027"}}),
        ("untag", "organisations", org_id, {"tags": {"removed": "Board 2027"}}),
    ]


def test_bad_tag_names_re_render_with_errors(assoc, make):
    org_id = make.org(assoc.tenant).id
    empty = assoc.client.post(f"{assoc.url}/members/{org_id}/tags", data={"name": ""})
    assert empty.status_code == 422 and "Name the tag." in empty.get_data(as_text=True)
    long = assoc.client.post(f"{assoc.url}/members/{org_id}/tags", data={"name": "x" * 61})
    assert long.status_code == 422
    make.tag(assoc.tenant, name="VIP")
    clash = assoc.client.post(f"{assoc.url}/tags", data={"name": "vip"})
    assert clash.status_code == 422 and "exists already" in clash.get_data(as_text=True)


def test_manage_tags_rename_and_delete(assoc, make, session):
    org = make.org(assoc.tenant)
    tag = make.tag(assoc.tenant, name="Old name")
    make.tagged(tag, org)
    tag_id = tag.id
    page = assoc.client.get(f"{assoc.url}/tags").get_data(as_text=True)
    assert "Old name" in page
    assert assoc.client.post(f"{assoc.url}/tags", data={"name": "Fresh"}).status_code == 302
    assert (
        assoc.client.post(f"{assoc.url}/tags/{tag_id}/edit", data={"name": "New name"})
    ).status_code == 302
    assert sorted(assoc.scalars(select(Tag.name))) == ["Fresh", "New name"]
    assert assoc.client.post(f"{assoc.url}/tags/{tag_id}/delete").status_code == 302
    assert assoc.scalars(select(Tag.name)) == ["Fresh"]
    assert _links(session, assoc.tenant.id, organisation_tags) == []  # the links went with it


def test_a_tag_of_another_association_is_refused(assoc, make, session):
    org = make.org(assoc.tenant)
    other = make.tenant()
    foreign = make.tag(other, name="Theirs")
    foreign_org = make.org(other)
    make.tagged(foreign, foreign_org)
    org_id, other_id, foreign_id = org.id, other.id, foreign.id
    foreign_org_id, foreign_org_name = foreign_org.id, foreign_org.name
    assert assoc.client.get(f"{assoc.url}/members?tag={foreign_id}").status_code == 200
    names = assoc.client.get(f"{assoc.url}/members?tag={foreign_id}").get_data(as_text=True)
    assert foreign_org_name not in names
    for path in (
        f"/tags/{foreign_id}/edit",
        f"/tags/{foreign_id}/delete",
        f"/members/{org_id}/tags/{foreign_id}/remove",
        f"/members/{foreign_org_id}/tags",
    ):
        assert assoc.client.post(f"{assoc.url}{path}", data={"name": "x"}).status_code == 404
    # Typing the other association's tag name makes a tag of one's own.
    assoc.client.post(f"{assoc.url}/members/{org_id}/tags", data={"name": "Theirs"})
    (own,) = assoc.scalars(select(Tag))
    assert own.id != foreign_id and own.tenant_id == assoc.tenant.id
    # The database refuses a link across associations whatever the application does.
    with pytest.raises((IntegrityError, DBAPIError)), session.begin_nested():
        with tenant_scope(assoc.tenant.id):
            session.execute(
                insert(organisation_tags).values(
                    tenant_id=assoc.tenant.id, tag_id=foreign_id, organisation_id=org_id
                )
            )
    with tenant_scope(other_id):
        uses = select(func.count()).where(organisation_tags.c.tag_id == foreign_id)
        assert session.scalar(uses) == 1  # its own organisation only


@pytest.mark.postgres
def test_rls_hides_other_associations_tags(assoc, make, session, database_urls):
    """As the app role with A's tenant set, B's tags and links are not there."""
    other = make.tenant()
    make.tagged(make.tag(other, name="B only"), make.org(other))
    other_id = other.id
    connection = session.connection()
    as_tenant(connection, assoc.tenant.id)
    for table in ("tags", "organisation_tags", "segments"):
        rows = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
        assert rows == 0, table
    as_tenant(connection, other_id)
    assert connection.exec_driver_sql("SELECT count(*) FROM organisation_tags").scalar_one() == 1
