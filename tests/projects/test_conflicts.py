"""Stale edits of projects and participants: refused with the conflict page
(409), nothing overwritten, the form merged with the current values."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm.models import Participation, Project
from tests.members.test_conflicts import field_value, opened_version
from tests.projects.conftest import project_form, reload, url


def test_a_stale_project_save_keeps_the_other_users_title(world, signed_in, make):
    project = make.project(world.tenant, status="proposal", acronym="GREENLOOP")
    edit = url(world, f"/projects/{project.id}/edit")
    a, b = signed_in(world.users.secretariat), signed_in(world.users.admin)
    assert a.post(edit, data=project_form(version="1")).status_code == 302
    form_b = b.get(edit).get_data(as_text=True)
    assert opened_version(form_b) == "2"
    assert a.post(edit, data=project_form(title="Renamed by A", version="2")).status_code == 302
    stale = b.post(edit, data=project_form(call_id="CALL-B", version=opened_version(form_b)))
    assert stale.status_code == 409
    project = reload(project)
    assert (project.title, project.call_id) == ("Renamed by A", "HORIZON-CL4-2024-01")
    page = stale.get_data(as_text=True)
    assert world.users.secretariat.name in page
    assert field_value(page, "title") == "Renamed by A"  # B left the title as it was
    assert field_value(page, "call_id") == "CALL-B"  # A left the call as it was
    assert opened_version(page) == "3"


def test_a_stale_participant_or_outcome_save_is_refused(world, signed_in, make, session):
    project = make.project(world.tenant, status="submitted", total_budget=Decimal("1000"))
    participation = make.participation(project, world.firm1, role="partner")
    client = signed_in(world.users.secretariat)
    edit = url(world, f"/projects/{project.id}/participations/{participation.id}/edit")
    saved = client.post(edit, data={"role": "partner", "budget_share": "100", "version": "1"})
    assert saved.status_code == 302
    stale = client.post(edit, data={"role": "subcontractor", "budget_share": "", "version": "1"})
    assert stale.status_code == 409
    (row,) = session.execute(
        select(Participation.role, Participation.budget_share).where(
            Participation.id == participation.id
        )
    ).all()
    assert tuple(row) == ("partner", Decimal("100"))

    outcome = url(world, f"/projects/{project.id}/outcome")
    form = {"status": "funded", "changed_on": "2025-01-01", "eu_contribution": "500"}
    assert client.post(outcome, data={**form, "version": "1"}).status_code == 302
    stale = client.post(outcome, data={**form, "status": "rejected", "version": "1"})
    assert stale.status_code == 409
    assert session.scalar(select(Project.status).where(Project.id == project.id)) == "funded"
