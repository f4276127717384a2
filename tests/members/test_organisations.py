"""Organisation pages: create, edit, archive, clusters, the page's content and queries."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import AuditEvent, ClusterMembership, Ecosystem, Organisation
from crm.tenancy import tenant_scope
from tests.members.test_directory import names
from tests.members.test_validation import VALID


def test_create_with_ecosystems_and_clusters_derives_size_class(assoc, make, session):
    cluster = make.cluster(assoc.tenant, name="Systematic")
    cluster_id = cluster.id
    eco_ids = session.scalars(select(Ecosystem.id).order_by(Ecosystem.id).limit(2)).all()
    response = assoc.client.post(
        f"{assoc.url}/members/new",
        data={
            **VALID,
            "size_class": "large",  # not a form field: ignored
            "ecosystem_ids": [str(i) for i in eco_ids],
            "cluster_ids": [str(cluster_id)],
        },
    )
    assert response.status_code == 302
    org = assoc.scalars(select(Organisation).where(Organisation.name == "Acme Robotics"))[0]
    assert response.headers["Location"].endswith(f"/members/{org.id}")
    assert org.size_class == "small"  # 12 staff, EUR 3 m turnover
    assert org.vat_id == "FR96552100554" and org.nuts2 == "FR10"
    assert assoc.count(ClusterMembership, ClusterMembership.member_id == org.id) == 1
    page = assoc.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Small" in page and "derived from the figures" in page
    assert "Systematic" in page
    assert "is added" in page  # flash message


def test_edit_recomputes_size_class_and_logs_history(assoc, make):
    org = make.org(assoc.tenant, name="Growing", employees=5, turnover_eur=1_000_000)
    org_id = org.id
    response = assoc.client.post(
        f"{assoc.url}/members/{org_id}/edit",
        data={
            **VALID,
            "name": "Growing",
            "employees": "300",
            "turnover_eur": "80000000",
            "balance_sheet_eur": "60000000",
        },
    )
    assert response.status_code == 302
    org = assoc.scalars(select(Organisation).where(Organisation.id == org_id))[0]
    assert org.size_class == "large"
    events = assoc.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == "organisations", AuditEvent.entity_id == org_id
        )
    )
    assert [e.action for e in events][-1] == "update"
    page = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    assert "History" in page and "employees" in page


def test_edit_refuses_a_cluster_as_its_own_member(assoc, make):
    cluster = make.cluster(assoc.tenant, name="Self Loop")
    cid = cluster.id
    form = {**VALID, "kind": "cluster", "name": "Self Loop", "cluster_ids": [str(cid)]}
    response = assoc.client.post(f"{assoc.url}/members/{cid}/edit", data=form)
    # The cluster is not even offered as a choice of its own page ...
    assert response.status_code == 422
    assert 'id="cluster_ids-error"' in response.get_data(as_text=True)
    assert assoc.count(ClusterMembership) == 0


def test_service_refuses_own_membership_whatever_the_form(assoc, make, session):
    import pytest

    from crm.members import services
    from crm.tenancy import tenant_scope

    cluster = make.cluster(assoc.tenant)
    with tenant_scope(assoc.tenant.id), pytest.raises(services.MemberError, match="itself"):
        services.update_organisation(
            session, assoc.tenant.id, cluster, {}, cluster_ids=[cluster.id]
        )


def test_edit_cannot_join_another_tenants_cluster(assoc, make):
    other = make.tenant(slug="assoc-pl", country="PL")
    foreign = make.cluster(other)
    org = make.org(assoc.tenant)
    response = assoc.client.post(
        f"{assoc.url}/members/{org.id}/edit",
        data={**VALID, "name": org.name, "cluster_ids": [str(foreign.id)]},
    )
    assert response.status_code == 422
    assert assoc.count(ClusterMembership) == 0


def test_archive_and_restore(assoc, make):
    org = make.org(assoc.tenant, name="Sleepy")
    org_id = org.id
    response = assoc.client.post(f"{assoc.url}/members/{org_id}/archive")
    assert response.status_code == 302
    assert assoc.scalars(select(Organisation.archived).where(Organisation.id == org_id)) == [True]
    assert "Sleepy" not in names(assoc.client.get(f"{assoc.url}/members"))
    assert "Sleepy" in names(assoc.client.get(f"{assoc.url}/members?archived=1"))
    events = assoc.scalars(
        select(AuditEvent.action).where(
            AuditEvent.entity_type == "organisations", AuditEvent.entity_id == org_id
        )
    )
    assert "archive" in events
    assoc.client.post(f"{assoc.url}/members/{org_id}/archive")
    assert assoc.scalars(select(Organisation.archived).where(Organisation.id == org_id)) == [False]


def test_cluster_page_lists_members_with_counts_by_kind_and_size(assoc, make):
    cluster = make.cluster(assoc.tenant, name="Minalogic")
    for kind, employees, turnover in (
        ("firm", 5, 100_000),
        ("firm", 5, 100_000),
        ("firm", 100, 20_000_000),
        ("university", None, None),
    ):
        make.cluster_member(
            cluster,
            make.org(assoc.tenant, kind=kind, employees=employees, turnover_eur=turnover),
        )
    html = assoc.client.get(f"{assoc.url}/members/{cluster.id}").get_data(as_text=True)
    assert "Members of this cluster (4)" in html
    assert '<span class="value">3</span>Firm' in html
    assert '<span class="value">1</span>University' in html
    assert "Medium 1, Micro 2" in html


def test_organisation_page_sections_and_bounded_queries(assoc, make, count_queries):
    def run(org_id):
        with count_queries() as counter:
            response = assoc.client.get(f"{assoc.url}/members/{org_id}")
        assert response.status_code == 200
        return counter.count, response.get_data(as_text=True)

    cluster = make.cluster(assoc.tenant, name="Pôle Mer")
    org = make.org(assoc.tenant, name="Seaside")
    make.membership(org)
    make.cluster_member(cluster, org)
    make.contact(org, first_name="Marie", last_name="Curie", is_primary=True)
    project = make.project(assoc.tenant, acronym="OCEAN")
    make.participation(project, org, role="coordinator")
    cluster_id = cluster.id
    few, html = run(org.id)
    for section in (
        "Profile",
        "Association membership",
        "Clusters",
        "Contacts",
        "Projects",
        "History",
        "Pôle Mer",
        "Marie Curie",
        "OCEAN",
        "coordinator",
    ):
        assert section in html
    with tenant_scope(assoc.tenant.id):  # the test's objects reload in the tenant's scope
        for _ in range(10):
            make.contact(org)
            make.participation(make.project(assoc.tenant), org)
            make.cluster_member(make.cluster(assoc.tenant), org)
    many, _ = run(org.id)
    assert many == few
    cluster_count, _ = run(cluster_id)
    assert cluster_count <= few + 2  # the cluster's member counts and list


def test_unknown_organisation_is_404(assoc):
    assert assoc.client.get(f"{assoc.url}/members/999999").status_code == 404
    assert assoc.client.get(f"{assoc.url}/members/99999999999999999999").status_code == 404


def test_archived_clusters_are_not_offered_but_an_existing_link_stays(assoc, make):
    """crm.choices: an archived cluster is offered only where it is already linked."""
    linked = make.cluster(assoc.tenant, name="Linked Archived Cluster", archived=True)
    unlinked = make.cluster(assoc.tenant, name="Other Archived Cluster", archived=True)
    make.cluster(assoc.tenant, name="Open Cluster")
    org = make.org(assoc.tenant, name="Linked Firm")
    make.cluster_member(linked, org)
    org_id, linked_id, unlinked_id = org.id, linked.id, unlinked.id

    new_page = assoc.client.get(f"{assoc.url}/members/new").get_data(as_text=True)
    assert "Open Cluster" in new_page
    assert "Linked Archived Cluster" not in new_page
    assert "Other Archived Cluster" not in new_page

    edit_page = assoc.client.get(f"{assoc.url}/members/{org_id}/edit").get_data(as_text=True)
    assert "Linked Archived Cluster" in edit_page
    assert "Other Archived Cluster" not in edit_page

    # Saving the form as shown keeps the link; the unlinked archived one is refused.
    response = assoc.client.post(
        f"{assoc.url}/members/{org_id}/edit",
        data={**VALID, "name": "Linked Firm", "cluster_ids": [str(linked_id)]},
    )
    assert response.status_code == 302
    assert assoc.count(ClusterMembership, ClusterMembership.member_id == org_id) == 1
    response = assoc.client.post(
        f"{assoc.url}/members/{org_id}/edit",
        data={**VALID, "name": "Linked Firm", "cluster_ids": [str(unlinked_id)]},
    )
    assert response.status_code == 422
