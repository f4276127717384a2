"""The cluster manager's area and its boundary: their cluster's projects only,
by any URL and whatever ids a form carries."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm.models import Participation, Project, ProjectStatusChange
from crm.tenancy import tenant_scope
from tests.projects.conftest import project_form, reload, url


def _proposal(client, world, member_ids, **fields):
    data = project_form(cluster_role="coordinator", **fields)
    data["member_ids"] = [str(i) for i in member_ids]
    return client.post(url(world, "/my-cluster/proposals/new"), data=data)


def test_my_cluster_shows_profile_members_and_projects(world, signed_in, make):
    recorded = make.project(world.tenant, acronym="OURS", cluster_id=world.cluster.id)
    joined = make.project(world.tenant, acronym="JOINED")
    make.participation(joined, world.cluster)
    make.project(world.tenant, acronym="THEIRS", cluster_id=world.other_cluster.id)
    make.project(world.tenant, acronym="NOBODYS")
    client = signed_in(world.users.manager)
    page = client.get(url(world, "/my-cluster"))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Cluster Alpha" in body
    assert "Alpha Firm One" in body and "Alpha University" in body
    assert "Beta Firm" not in body and "Outsider Firm" not in body
    assert "OURS" in body and "JOINED" in body
    assert "THEIRS" not in body and "NOBODYS" not in body
    assert client.get(url(world, f"/projects/{recorded.id}")).status_code == 200
    assert client.get(url(world, f"/projects/{joined.id}")).status_code == 200


def test_manager_logs_a_proposal_then_its_outcome(world, signed_in, session):
    client = signed_in(world.users.manager)
    assert client.get(url(world, "/my-cluster/proposals/new")).status_code == 200
    response = _proposal(client, world, [world.firm1.id, world.firm2.id])
    assert response.status_code == 302, response.get_data(as_text=True)
    with tenant_scope(world.tenant.id):
        project = session.scalar(select(Project).where(Project.acronym == "GREENLOOP"))
        consortium = session.execute(
            select(Participation.organisation_id, Participation.role).where(
                Participation.project_id == project.id
            )
        ).all()
    assert project.cluster_id == world.cluster.id and project.status == "proposal"
    assert sorted(consortium) == sorted(
        [
            (world.cluster.id, "coordinator"),
            (world.firm1.id, "partner"),
            (world.firm2.id, "partner"),
        ]
    )
    for status, on in (("submitted", "2024-01-10"), ("funded", "2024-07-01")):
        response = client.post(
            url(world, f"/projects/{project.id}/outcome"),
            data={"status": status, "changed_on": on, "eu_contribution": ""},
        )
        assert response.status_code == 302
    with tenant_scope(world.tenant.id):
        statuses = session.scalars(
            select(ProjectStatusChange.to_status)
            .where(ProjectStatusChange.project_id == project.id)
            .order_by(ProjectStatusChange.id)
        ).all()
    assert statuses == ["proposal", "submitted", "funded"]
    # The manager may add another member, not an outsider.
    add = url(world, f"/projects/{project.id}/participations/new")
    page = client.get(add).get_data(as_text=True)
    assert "Alpha University" in page and "Outsider Firm" not in page and "Beta Firm" not in page
    response = client.post(add, data={"organisation_id": str(world.outsider.id), "role": "partner"})
    assert response.status_code == 422
    assert "Choose your cluster, one of its members or an external partner." in response.get_data(
        as_text=True
    )
    assert (
        client.post(add, data={"organisation_id": str(world.uni.id), "role": "partner"}).status_code
        == 302
    )


def test_tampered_member_ids_are_a_form_error(world, signed_in, session, make):
    other_tenant = make.tenant(slug="assoc-x", country="ES")
    foreign = make.org(other_tenant)
    client = signed_in(world.users.manager)
    for bad in (
        [world.outsider.id],
        [world.beta_firm.id],
        [world.other_cluster.id],
        [foreign.id],
        [world.firm1.id, 987654],
    ):
        response = _proposal(client, world, bad)
        assert response.status_code == 422, bad
        assert "Choose only current members of your cluster." in response.get_data(as_text=True)
    response = client.post(
        url(world, "/my-cluster/proposals/new"),
        data={**project_form(cluster_role="coordinator"), "member_ids": ["x1"]},
    )
    assert response.status_code == 422
    # A proposal form cannot claim a funded status either.
    assert _proposal(client, world, [world.firm1.id], status="funded").status_code == 422
    with tenant_scope(world.tenant.id):
        assert session.scalar(select(Project.id)) is None


def test_ended_membership_is_not_a_current_member(world, signed_in, make, session):
    from datetime import date

    former = make.org(world.tenant, name="Former Member")
    link = make.cluster_member(world.cluster, former)
    with tenant_scope(world.tenant.id):
        link.until = date(2023, 1, 1)
        session.flush()
    client = signed_in(world.users.manager)
    assert _proposal(client, world, [former.id]).status_code == 422


def test_other_clusters_project_is_404_by_every_url(world, signed_in, make):
    theirs = make.project(world.tenant, cluster_id=world.other_cluster.id, status="submitted")
    part = make.participation(theirs, world.beta_firm)
    # A project the manager's cluster only takes part in: visible, not theirs to change.
    joined = make.project(world.tenant, cluster_id=world.other_cluster.id)
    joined_part = make.participation(joined, world.cluster)
    client = signed_in(world.users.manager)
    base = f"/projects/{theirs.id}"
    for method, path in [
        ("GET", base),
        ("GET", base + "/edit"),
        ("POST", base + "/edit"),
        ("GET", base + "/outcome"),
        ("POST", base + "/outcome"),
        ("GET", base + "/participations/new"),
        ("POST", base + "/participations/new"),
        ("GET", f"{base}/participations/{part.id}/edit"),
        ("POST", f"{base}/participations/{part.id}/edit"),
        ("POST", f"{base}/participations/{part.id}/remove"),
        ("GET", f"/projects/{joined.id}/edit"),
        ("POST", f"/projects/{joined.id}/outcome"),
        ("POST", f"/projects/{joined.id}/participations/{joined_part.id}/remove"),
    ]:
        data = {"status": "funded", "changed_on": "2024-01-01", "role": "coordinator"}
        response = client.open(url(world, path), method=method, data=data)
        assert response.status_code == 404, (method, path)
    assert client.get(url(world, f"/projects/{joined.id}")).status_code == 200
    assert reload(theirs).status == "submitted"


def test_manager_cannot_touch_a_non_member_participant_of_own_project(world, signed_in, make):
    ours = make.project(world.tenant, cluster_id=world.cluster.id, total_budget=Decimal("10"))
    outsider_part = make.participation(ours, world.outsider)
    client = signed_in(world.users.manager)
    base = f"/projects/{ours.id}/participations/{outsider_part.id}"
    assert client.get(url(world, base + "/edit")).status_code == 404
    assert client.post(url(world, base + "/remove")).status_code == 404


def test_staff_only_pages_are_closed_to_managers_and_my_cluster_to_staff(world, signed_in):
    manager = signed_in(world.users.manager)
    for path in ("/projects", "/projects/new", "/projects?format=csv"):
        assert manager.get(url(world, path)).status_code == 404, path
    for who in (world.users.secretariat, world.users.admin):
        client = signed_in(who)
        assert client.get(url(world, "/my-cluster")).status_code == 404
        assert client.get(url(world, "/my-cluster/proposals/new")).status_code == 404


def test_manager_without_a_cluster_sees_nothing(world, signed_in, make):
    project = make.project(world.tenant, cluster_id=world.cluster.id)
    lost = make.user(world.tenant, role="cluster_manager")
    client = signed_in(lost)
    assert client.get(url(world, "/my-cluster")).status_code == 404
    assert client.get(url(world, f"/projects/{project.id}")).status_code == 404


def test_secretariat_corrects_a_cluster_project(world, signed_in, make, session):
    project = make.project(world.tenant, cluster_id=world.cluster.id, status="proposal")
    client = signed_in(world.users.secretariat)
    response = client.post(
        url(world, f"/projects/{project.id}/outcome"),
        data={"status": "submitted", "changed_on": "2024-03-03"},
    )
    assert response.status_code == 302
    assert reload(project).status == "submitted"
    assert client.get(url(world, f"/projects/{project.id}/edit")).status_code == 200


def test_tampered_cluster_and_tenant_fields_are_ignored(world, signed_in, session, make):
    """Fields a form does not have (cluster_id, tenant_id) cannot move a
    project to another cluster or association, on the proposal or the edit."""
    other = make.tenant(slug="assoc-t", country="DE")
    client = signed_in(world.users.manager)
    tampered = {"cluster_id": str(world.other_cluster.id), "tenant_id": str(other.id)}
    response = client.post(
        url(world, "/my-cluster/proposals/new"),
        data={
            **project_form(cluster_role="coordinator"),
            "member_ids": [str(world.firm1.id)],
            **tampered,
        },
    )
    assert response.status_code == 302
    with tenant_scope(world.tenant.id):
        project = session.scalar(select(Project).where(Project.acronym == "GREENLOOP"))
    assert (project.cluster_id, project.tenant_id) == (world.cluster.id, world.tenant.id)
    response = client.post(
        url(world, f"/projects/{project.id}/edit"),
        data={**project_form(acronym="RENAMED"), **tampered},
    )
    assert response.status_code == 302
    project = reload(project)
    assert (project.acronym, project.cluster_id) == ("RENAMED", world.cluster.id)
    assert project.tenant_id == world.tenant.id


def test_manager_picker_search_stays_inside_the_cluster(world, signed_in, make):
    project = make.project(world.tenant, cluster_id=world.cluster.id)
    client = signed_in(world.users.manager)
    add = url(world, f"/projects/{project.id}/participations/new")
    for query in ("firm", "outsider", "beta"):
        page = client.get(add, query_string={"q": query}).get_data(as_text=True)
        assert "Outsider Firm" not in page and "Beta Firm" not in page, query
    assert "Alpha Firm One" in client.get(add + "?q=firm").get_data(as_text=True)
