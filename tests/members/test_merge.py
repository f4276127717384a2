"""Merging two organisations: every referring row moves (read from the schema),
collisions keep one row, the other organisation redirects, refusals, audit."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, or_, select

from crm.merge import repoint
from crm.models import (
    AssociationMembership,
    AuditEvent,
    Base,
    ClusterMembership,
    Contact,
    Ecosystem,
    MembershipStatusChange,
    Organisation,
    Participation,
    organisation_ecosystems,
)
from crm.models.cordis import CordisDismissal
from crm.tenancy import tenant_scope

ORGANISATIONS = Base.metadata.tables["organisations"]


def _all_references() -> set[tuple[str, str]]:
    """Every column with a foreign key to organisations.id, read independently."""
    found = set()
    for table in Base.metadata.tables.values():
        for column in table.columns:
            for fk in column.foreign_keys:
                if fk.column.table is ORGANISATIONS and fk.column.name == "id":
                    found.add((table.name, column.name))
    return found


def test_every_foreign_key_to_organisations_is_handled():
    handled = {(r.table.name, r.column.name) for r in repoint.references_to(ORGANISATIONS)}
    assert handled == _all_references()
    assert ("contacts", "organisation_id") in handled  # the check is not vacuous
    # Every partial unique index on a referring column has a rule (the others are generic).
    for ref in repoint.references_to(ORGANISATIONS):
        for name, columns, where in repoint.unique_sets(ref.table):
            if where is not None and ref.column in columns:
                assert name in repoint.PARTIAL_UNIQUE, name


def _rows(session, assoc, query) -> list:
    with tenant_scope(assoc.tenant.id):
        return session.execute(query).all()


def _referring_rows(session, tenant, ids) -> dict[str, int]:
    """Rows per table.column that refer to any of ``ids``."""
    out = {}
    with tenant_scope(tenant.id):
        for ref in repoint.references_to(ORGANISATIONS):
            out[ref.name] = session.scalar(
                select(func.count())
                .select_from(ref.table)
                .where(ref.table.c.tenant_id == tenant.id, ref.column.in_(ids))
            )
    return out


@pytest.fixture
def pair(assoc, make, session):
    """Two records of one firm, with overlapping and separate related rows."""
    t = assoc.tenant
    keep = make.org(t, name="Acme Robotics", city="Paris", registration_id="552100554")
    dup = make.org(
        t,
        name="ACME Robotics SAS",
        city="Paris",
        website="https://acme.example.org",
        registration_id="552100554",
    )
    shared_cluster, only_dup_cluster = make.cluster(t, name="Cap Digital"), make.cluster(t)
    for cluster in (shared_cluster,):
        make.cluster_member(cluster, keep, since=date(2021, 1, 1))
    make.cluster_member(shared_cluster, dup, since=date(2019, 1, 1))
    make.cluster_member(only_dup_cluster, dup)
    make.contact(keep, is_primary=True, last_name="Kept")
    make.contact(dup, is_primary=True, last_name="Moved")
    make.contact(dup, last_name="Second")
    m_keep = make.membership(keep, joined_on=date(2022, 1, 1), paid_until=date(2025, 12, 31))
    m_dup = make.membership(dup, joined_on=date(2018, 1, 1), paid_until=date(2026, 12, 31))
    with tenant_scope(t.id):
        for membership, reason in ((m_keep, "kept history"), (m_dup, "moved history")):
            session.add(
                MembershipStatusChange(
                    tenant_id=t.id,
                    membership_id=membership.id,
                    to_status="active",
                    effective_on=date(2020, 1, 1),
                    reason=reason,
                )
            )
        ecosystems = session.scalars(select(Ecosystem).order_by(Ecosystem.id).limit(3)).all()
        keep.ecosystems = ecosystems[:2]
        dup.ecosystems = ecosystems[1:]
        session.add(
            CordisDismissal(
                tenant_id=t.id, grant_key="101000001", organisation_id=dup.id, reason="not ours"
            )
        )
        session.flush()
    both, alone = make.project(t), make.project(t)
    make.participation(both, keep, role="partner")
    make.participation(both, dup, role="coordinator", budget_share=1000)
    make.participation(alone, dup, role="coordinator")
    earlier = make.org(t, name="Acme (old record)", archived=True, merged_into_id=None)
    with tenant_scope(t.id):
        earlier.merged_into_id = dup.id  # merged into dup before: follows to the survivor
        session.flush()
    return keep, dup


def test_merge_moves_every_row_and_the_totals_agree(assoc, session, pair):
    keep, dup = pair
    keep_id, dup_id = keep.id, dup.id
    before = _referring_rows(session, assoc.tenant, [keep_id, dup_id])
    page = assoc.client.get(f"{assoc.url}/members/{keep_id}/merge?other_id={dup_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "ACME Robotics SAS" in text and 'name="choose_name"' in text  # a name to choose

    response = assoc.client.post(
        f"{assoc.url}/members/{keep_id}/merge",
        data={"other_id": dup_id, "choose_name": "survivor"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    after = _referring_rows(session, assoc.tenant, [keep_id, dup_id])
    on_dup = _referring_rows(session, assoc.tenant, [dup_id])
    assert not any(on_dup.values()), on_dup  # nothing refers to the merged one any more
    (event,) = assoc.scalars(
        select(AuditEvent).where(AuditEvent.action == "merge", AuditEvent.entity_id == dup_id)
    )
    rows = event.changes["rows"]
    # Totals agree: every row before is still there, except the collisions the merge
    # folded into the survivor's row or dropped, and it says how many.
    for name, count in before.items():
        folded = rows.get(f"{name} merged", 0) + rows.get(f"{name} dropped (linked the two)", 0)
        added = 1 if name == "organisations.merged_into_id" else 0  # the merged one's own link
        assert after[name] == count - folded + added, name
    assert rows["contacts.organisation_id moved"] == 2
    assert rows["cluster_memberships.member_id merged"] == 1  # both in Cap Digital
    assert rows["participations.organisation_id merged"] == 1  # both in one project
    assert rows["association_memberships.organisation_id merged"] == 1
    assert rows["organisation_ecosystems.organisation_id merged"] == 1
    assert rows["organisations.merged_into_id moved"] == 1  # the earlier merge follows

    columns = (Organisation.name, Organisation.website, Organisation.archived)
    query = select(*columns, Organisation.merged_into_id).where(
        Organisation.id.in_([keep_id, dup_id])
    )
    survivor, merged = _rows(session, assoc, query.order_by(Organisation.id))
    assert tuple(survivor) == ("Acme Robotics", "https://acme.example.org", False, None)
    assert merged.archived and merged.merged_into_id == keep_id
    # One primary contact; the other's is demoted, not lost.
    contacts = assoc.scalars(select(Contact).where(Contact.organisation_id == keep_id))
    assert sorted(c.last_name for c in contacts) == ["Kept", "Moved", "Second"]
    assert [c.last_name for c in contacts if c.is_primary] == ["Kept"]
    # One membership, with both histories and the sensible dates.
    (membership,) = assoc.scalars(select(AssociationMembership))
    assert membership.organisation_id == keep_id
    assert (membership.joined_on, membership.paid_until) == (date(2018, 1, 1), date(2026, 12, 31))
    history = assoc.scalars(
        select(MembershipStatusChange.reason).where(
            MembershipStatusChange.membership_id == membership.id
        )
    )
    assert sorted(history) == ["kept history", "moved history"]
    links = assoc.scalars(select(ClusterMembership).where(ClusterMembership.member_id == keep_id))
    assert len(links) == 2
    assert min(link.since for link in links if link.since) == date(2019, 1, 1)
    participations = assoc.scalars(
        select(Participation).where(Participation.organisation_id == keep_id)
    )
    # One row per project; the project keeps the other's coordinator role.
    assert sorted(p.role for p in participations) == ["coordinator", "coordinator"]
    assert any(p.budget_share == 1000 for p in participations)  # filled from the other row
    with tenant_scope(assoc.tenant.id):
        ecosystems = session.scalar(
            select(func.count())
            .select_from(organisation_ecosystems)
            .where(organisation_ecosystems.c.organisation_id == keep_id)
        )
    assert ecosystems == 3
    # Audited on both, and the survivor's history shows the merged one's events.
    events = assoc.scalars(select(AuditEvent).where(AuditEvent.action == "merge"))
    assert sorted(e.entity_id for e in events) == sorted([keep_id, dup_id])
    page = assoc.client.get(f"{assoc.url}/members/{keep_id}").get_data(as_text=True)
    assert "Merged into this organisation" in page and "ACME Robotics SAS" in page


def test_choosing_the_other_value(assoc, make):
    keep = make.org(assoc.tenant, name="Old Name", city="Lyon")
    dup = make.org(assoc.tenant, name="New Name", city="Lyon")
    keep_id, dup_id = keep.id, dup.id
    response = assoc.client.post(
        f"{assoc.url}/members/{keep_id}/merge",
        data={"other_id": dup_id, "choose_name": "other"},
    )
    assert response.status_code == 302
    (survivor,) = assoc.scalars(select(Organisation).where(Organisation.id == keep_id))
    assert survivor.name == "New Name"


def test_merged_organisation_pages_redirect_to_the_survivor(assoc, make):
    keep, dup = make.org(assoc.tenant), make.org(assoc.tenant)
    keep_id, dup_id = keep.id, dup.id
    assoc.client.post(f"{assoc.url}/members/{keep_id}/merge", data={"other_id": dup_id})
    for path in ("", "/edit", "/status", "/contacts/new"):
        response = assoc.client.get(f"{assoc.url}/members/{dup_id}{path}")
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith(f"/members/{keep_id}{path}")
    response = assoc.client.post(f"{assoc.url}/members/{dup_id}/edit", data={})
    assert response.headers["Location"].endswith(f"/members/{keep_id}")


def test_refusals(assoc, make):
    keep, dup, third = make.org(assoc.tenant), make.org(assoc.tenant), make.org(assoc.tenant)
    other_tenant = make.tenant()
    foreign = make.org(other_tenant, name="Foreign Firm")
    keep_id, dup_id, third_id, foreign_id = keep.id, dup.id, third.id, foreign.id
    url = f"{assoc.url}/members/{keep_id}/merge"

    response = assoc.client.post(url, data={"other_id": keep_id})
    assert response.status_code == 422
    assert "cannot be merged with itself" in response.get_data(as_text=True)

    response = assoc.client.post(url, data={"other_id": foreign_id})
    assert response.status_code == 404  # another association's: not even named
    assert "Foreign Firm" not in response.get_data(as_text=True)

    assert assoc.client.post(url, data={"other_id": dup_id}).status_code == 302
    response = assoc.client.post(f"{assoc.url}/members/{third_id}/merge", data={"other_id": dup_id})
    assert response.status_code == 422
    assert "already merged" in response.get_data(as_text=True)
    assert assoc.count(Organisation, Organisation.merged_into_id.is_not(None)) == 1
    assert assoc.count(Organisation, or_(Organisation.archived.is_(True))) == 1


@pytest.mark.parametrize("role", ["cluster_manager"])
def test_only_staff_merge(assoc, make, signed_in, role):
    cluster = make.cluster(assoc.tenant)
    keep, dup = make.org(assoc.tenant), make.org(assoc.tenant)
    user = make.user(assoc.tenant, role=role, cluster=cluster)
    client = signed_in(user)
    response = client.post(f"{assoc.url}/members/{keep.id}/merge", data={"other_id": dup.id})
    assert response.status_code in (403, 404)
    assert assoc.count(Organisation, Organisation.merged_into_id.is_not(None)) == 0


def test_the_page_as_rendered_merges(assoc, make):
    """Posting back exactly the inputs the page renders (hidden ones, checked radios)."""
    import re

    keep = make.org(assoc.tenant, name="Acme Robotics", city="Paris")
    dup = make.org(assoc.tenant, name="ACME Robotics SAS", city="Paris")
    keep_id, dup_id = keep.id, dup.id
    page = assoc.client.get(f"{assoc.url}/members/{keep_id}/merge").get_data(as_text=True)
    assert f"other_id={dup_id}" in page  # offered as a likely duplicate
    url = f"{assoc.url}/members/{keep_id}/merge?other_id={dup_id}"
    page = assoc.client.get(url).get_data(as_text=True)
    inputs = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*>', page)
    checked = re.findall(r'<input checked[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)
    data = dict(inputs) | dict(checked)  # a radio group posts its checked value
    assert data.get("choose_name") == "survivor"
    response = assoc.client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert assoc.count(Organisation, Organisation.merged_into_id == keep_id) == 1
