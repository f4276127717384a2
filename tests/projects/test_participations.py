"""The consortium: adding, changing and removing participants, with the rules' messages."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from crm.models import Participation
from crm.tenancy import tenant_scope
from tests.projects.conftest import url


def _add(client, world, project, org, role="partner", share=""):
    return client.post(
        url(world, f"/projects/{project.id}/participations/new"),
        data={"organisation_id": str(org.id) if org else "", "role": role, "budget_share": share},
    )


def _participants(session, world, project):
    with tenant_scope(world.tenant.id):
        return session.execute(
            select(Participation.organisation_id, Participation.role, Participation.budget_share)
            .where(Participation.project_id == project.id)
            .order_by(Participation.id)
        ).all()


def test_add_edit_and_remove_a_participant(world, signed_in, session, make):
    project = make.project(world.tenant, total_budget=Decimal("1000"))
    client = signed_in(world.users.secretariat)
    page = client.get(url(world, f"/projects/{project.id}/participations/new"))
    assert page.status_code == 200 and "Outsider Firm" in page.get_data(as_text=True)
    assert _add(client, world, project, world.firm1, "coordinator", "600").status_code == 302
    assert _add(client, world, project, world.outsider, "partner", "400").status_code == 302
    assert _participants(session, world, project) == [
        (world.firm1.id, "coordinator", Decimal("600")),
        (world.outsider.id, "partner", Decimal("400")),
    ]
    shown = client.get(url(world, f"/projects/{project.id}")).get_data(as_text=True)
    assert "Alpha Firm One" in shown and "Coordinator" in shown and "600.00" in shown

    with tenant_scope(world.tenant.id):
        pid = session.scalar(
            select(Participation.id).where(Participation.organisation_id == world.outsider.id)
        )
    edit = url(world, f"/projects/{project.id}/participations/{pid}/edit")
    assert client.get(edit).status_code == 200
    response = client.post(edit, data={"role": "subcontractor", "budget_share": "300"})
    assert response.status_code == 302
    assert _participants(session, world, project)[1] == (
        world.outsider.id,
        "subcontractor",
        Decimal("300"),
    )
    remove = url(world, f"/projects/{project.id}/participations/{pid}/remove")
    assert client.post(remove).status_code == 302
    assert [p[0] for p in _participants(session, world, project)] == [world.firm1.id]


def test_each_consortium_rule_has_a_clear_message(world, signed_in, session, make):
    project = make.project(world.tenant, total_budget=Decimal("1000"))
    make.participation(project, world.firm1, role="coordinator", budget_share=Decimal("700"))
    client = signed_in(world.users.secretariat)
    cases = [
        (world.firm2, "coordinator", "", "at most one coordinator"),
        (world.firm1, "partner", "", "Alpha Firm One already takes part in this project"),
        (world.firm2, "partner", "-1", "A budget share cannot be negative."),
        (world.firm2, "partner", "300.01", "add up to 1,000.01, above the project"),
        (None, "partner", "", "Choose an organisation of your association."),
        (world.firm2, "boss", "", "Not a valid choice"),
    ]
    for org, role, share, message in cases:
        response = _add(client, world, project, org, role, share)
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True), message
    assert len(_participants(session, world, project)) == 1
    assert _add(client, world, project, world.firm2, "partner", "300").status_code == 302


def test_edit_rules_count_the_other_participants(world, signed_in, session, make):
    project = make.project(world.tenant, total_budget=Decimal("1000"))
    make.participation(project, world.firm1, role="coordinator", budget_share=Decimal("500"))
    second = make.participation(project, world.firm2, budget_share=Decimal("100"))
    client = signed_in(world.users.secretariat)
    edit = url(world, f"/projects/{project.id}/participations/{second.id}/edit")
    response = client.post(edit, data={"role": "coordinator", "budget_share": "100"})
    assert "at most one coordinator" in response.get_data(as_text=True)
    response = client.post(edit, data={"role": "partner", "budget_share": "600"})
    assert "add up to 1,100.00" in response.get_data(as_text=True)
    # Its own old share does not count twice.
    assert client.post(edit, data={"role": "partner", "budget_share": "500"}).status_code == 302


def test_another_tenants_organisation_id_is_a_form_error(world, signed_in, session, make):
    other = make.tenant(slug="assoc-other", country="DE")
    foreign = make.org(other, name="Foreign GmbH")
    project = make.project(world.tenant)
    client = signed_in(world.users.secretariat)
    for bad in (str(foreign.id), "999999", "abc", "-1"):
        response = client.post(
            url(world, f"/projects/{project.id}/participations/new"),
            data={"organisation_id": bad, "role": "partner"},
        )
        assert response.status_code == 422, bad
        assert "Foreign GmbH" not in response.get_data(as_text=True)
    assert _participants(session, world, project) == []


def test_participation_of_another_project_is_404(world, signed_in, make):
    first = make.project(world.tenant)
    second = make.project(world.tenant)
    participation = make.participation(second, world.firm1)
    client = signed_in(world.users.secretariat)
    path = f"/projects/{first.id}/participations/{participation.id}"
    assert client.get(url(world, path + "/edit")).status_code == 404
    assert client.post(url(world, path + "/remove")).status_code == 404


def _picker(page: str) -> list[str]:
    """The names offered by the organisation select of the add-participant form."""
    select_ = page[page.index('<select id="organisation_id"') :]
    select_ = select_[: select_.index("</select>")]
    return re.findall(r"<option[^>]*>([^<]*)</option>", select_)


def test_the_organisation_picker_is_bounded_and_searches_by_name(
    world, signed_in, session, make, monkeypatch
):
    """A large association is never sent as one list: the picker shows the
    first CHOICES_LIMIT names and a search narrows them; any id of the
    tenant still goes through the service's checks."""
    from crm.projects import queries

    monkeypatch.setattr(queries, "CHOICES_LIMIT", 3)
    make.org(world.tenant, name="Alpha Archived", archived=True)
    project = make.project(world.tenant)
    client = signed_in(world.users.secretariat)
    add = url(world, f"/projects/{project.id}/participations/new")
    page = client.get(add).get_data(as_text=True)
    assert _picker(page) == ["— choose —", "Alpha Firm One", "Alpha Firm Two", "Alpha University"]
    assert "The first 3 matches by name are listed" in page
    page = client.get(add + "?q=OUTSIDER").get_data(as_text=True)
    assert "Outsider Firm" in page and "Alpha Firm One" not in page
    assert "The first 3 matches" not in page
    for pattern in ("%", "_", "\\"):  # LIKE wildcards are plain characters
        assert "Alpha Firm One" not in client.get(add, query_string={"q": pattern}).get_data(
            as_text=True
        )
    make.org(world.tenant, name="ÉCOLE Łódzka")
    page = client.get(add, query_string={"q": "école łódzka"}).get_data(as_text=True)
    assert _picker(page) == ["— choose —", "ÉCOLE Łódzka"]  # case aside, any alphabet
    page = client.get(add + "?q=archived").get_data(as_text=True)
    assert "Alpha Archived" not in page and "No organisation’s name contains “archived”" in page
    # A refused form keeps the chosen organisation listed and selected.
    response = client.post(
        add + "?q=alpha", data={"organisation_id": str(world.outsider.id), "role": "boss"}
    )
    assert response.status_code == 422
    assert f'<option selected value="{world.outsider.id}">Outsider Firm' in response.get_data(
        as_text=True
    )
    # An id not listed on the page is still accepted if it is the tenant's...
    assert _add(client, world, project, world.outsider).status_code == 302
    # ...and refused if it is out of range (never a database error).
    for bad in ("2147483648", "99999999999999999999", "0"):
        response = client.post(add, data={"organisation_id": bad, "role": "partner"})
        assert response.status_code == 422, bad
    assert [p[0] for p in _participants(session, world, project)] == [world.outsider.id]


def test_editing_a_participant_cannot_swap_its_organisation(world, signed_in, session, make):
    project = make.project(world.tenant)
    participation = make.participation(project, world.firm1)
    client = signed_in(world.users.secretariat)
    response = client.post(
        url(world, f"/projects/{project.id}/participations/{participation.id}/edit"),
        data={"organisation_id": str(world.outsider.id), "role": "partner", "project_id": "1"},
    )
    assert response.status_code == 302
    assert _participants(session, world, project) == [(world.firm1.id, "partner", None)]
