"""External partners in consortia: recorded from the participant picker (with and
without JavaScript), found again by PIC or by name and country, labelled apart
from members, within a cluster manager's limits and never across tenants."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import func, select

from crm.models import Organisation, Participation
from crm.projects.partners import name_key
from crm.tenancy import tenant_scope
from tests.projects.conftest import url

JSON = {"Accept": "application/json"}


def _partner(client, world, project, headers=None, **fields):
    data = {
        "partner_name": "Fraunhofer-Gesellschaft e.V.",
        "partner_country": "DE",
        "partner_city": "München",
        "partner_kind": "research_org",
        "partner_pic": "",
        "partner_website": "",
    }
    data.update(fields)
    return client.post(
        url(world, f"/projects/{project.id}/partners/new"), data=data, headers=headers or {}
    )


def _externals(session, world):
    with tenant_scope(world.tenant.id):
        return session.scalars(
            select(Organisation).where(Organisation.is_external.is_(True)).order_by(Organisation.id)
        ).all()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Fraunhofer-Gesellschaft e.V.", "fraunhofer gesellschaft"),
        ("Politécnico di Milano S.p.A.", "POLITECNICO DI MILANO"),
        ("Acme & Sons GmbH", "acme and sons"),
        ("Nordic Robotics AB", "Nordic-Robotics"),
        ("Teknologisk Institut A/S", "teknologisk institut"),
    ],
)
def test_name_key_ignores_case_accents_punctuation_and_legal_forms(a, b):
    assert name_key(a) == name_key(b) != ""


def test_secretariat_records_a_partner_inline_and_adds_it(world, signed_in, session, make):
    project = make.project(world.tenant)
    client = signed_in(world.users.secretariat)
    page = client.get(url(world, f"/projects/{project.id}/participations/new"))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "New external partner" in body
    assert "js/partners.js" in body and "<script>" not in body  # no inline script (CSP)

    response = _partner(client, world, project, JSON, partner_pic="999 999 999")
    assert response.status_code == 200
    created = response.get_json()
    assert created["reused"] is False
    assert created["label"] == "Fraunhofer-Gesellschaft e.V. — external partner, DE"
    [partner] = _externals(session, world)
    assert (partner.id, partner.pic, partner.country, partner.kind) == (
        created["id"],
        "999999999",
        "DE",
        "research_org",
    )
    assert partner.membership is None
    add = client.post(
        url(world, f"/projects/{project.id}/participations/new"),
        data={"organisation_id": str(partner.id), "role": "partner"},
    )
    assert add.status_code == 302
    shown = client.get(url(world, f"/projects/{project.id}")).get_data(as_text=True)
    assert "External partner" in shown and "Countries of the consortium: DE" in shown
    # The picker lists it, labelled, beside the members.
    listed = client.get(url(world, f"/projects/{project.id}/participations/new?q=fraun"))
    assert "Fraunhofer-Gesellschaft e.V. — external partner, DE" in listed.get_data(as_text=True)


def test_existing_partner_is_reused_by_pic_then_by_name_and_country(
    world, signed_in, session, make
):
    project = make.project(world.tenant)
    client = signed_in(world.users.secretariat)
    first = _partner(client, world, project, JSON, partner_pic="999999999").get_json()
    by_pic = _partner(client, world, project, JSON, partner_name="FhG", partner_pic="999999999")
    assert by_pic.get_json()["id"] == first["id"] and by_pic.get_json()["reused"] is True
    assert "Existing external partner reused" in by_pic.get_json()["message"]
    by_name = _partner(client, world, project, JSON, partner_name="fraunhofer gesellschaft")
    assert by_name.get_json()["id"] == first["id"] and by_name.get_json()["reused"]
    # The same name in another country, or with another PIC, is another organisation.
    other_country = _partner(client, world, project, JSON, partner_country="AT").get_json()
    other_pic = _partner(client, world, project, JSON, partner_pic="111222333").get_json()
    assert not other_country["reused"] and not other_pic["reused"]
    assert len({first["id"], other_country["id"], other_pic["id"]}) == 3
    assert len(_externals(session, world)) == 3


def test_without_javascript_the_form_posts_and_comes_back_with_the_partner_chosen(
    world, signed_in, session, make
):
    project = make.project(world.tenant)
    client = signed_in(world.users.secretariat)
    response = _partner(client, world, project, partner_name="SINTEF AS", partner_country="NO")
    assert response.status_code == 302
    [partner] = _externals(session, world)
    assert f"organisation={partner.id}" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "SINTEF AS is recorded as an external partner." in page
    assert f'<option selected value="{partner.id}">' in page
    again = _partner(client, world, project, partner_name="Sintef", partner_country="NO")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "Existing external partner reused: SINTEF AS." in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"partner_pic": "12345678"}, "A PIC is 9 digits"),
        ({"partner_pic": "12345678A"}, "A PIC is 9 digits"),
        ({"partner_country": "ZZ"}, "Not a valid choice"),
        ({"partner_country": ""}, "Choose the partner's country."),
        ({"partner_name": " "}, "Enter the partner's name."),
        ({"partner_website": "fraunhofer"}, "Enter a web address"),
    ],
)
def test_partner_field_errors_never_write(world, signed_in, session, make, fields, message):
    project = make.project(world.tenant)
    client = signed_in(world.users.secretariat)
    page = _partner(client, world, project, **fields)
    # Field errors may reach the page escaped or not (a lazy translation is markup-safe).
    assert page.status_code == 422 and message in unescape(page.get_data(as_text=True))
    # The picker's forms on this page still go to the picker, not to the partner route.
    picker = url(world, f"/projects/{project.id}/participations/new")
    assert page.get_data(as_text=True).count(f'action="{picker}"') == 2
    as_json = _partner(client, world, project, JSON, **fields)
    assert as_json.status_code == 422
    assert message.replace("&#39;", "'") in " ".join(
        m for messages in as_json.get_json()["errors"].values() for m in messages
    )
    assert _externals(session, world) == []


def test_cluster_manager_adds_a_partner_to_their_cluster_project(world, signed_in, session, make):
    ours = make.project(world.tenant, acronym="OURS", cluster_id=world.cluster.id)
    theirs = make.project(world.tenant, acronym="THEIRS", cluster_id=world.other_cluster.id)
    client = signed_in(world.users.manager)
    created = _partner(client, world, ours, JSON, partner_pic="999999999").get_json()
    add = client.post(
        url(world, f"/projects/{ours.id}/participations/new"),
        data={"organisation_id": str(created["id"]), "role": "partner"},
    )
    assert add.status_code == 302
    page = client.get(url(world, f"/projects/{ours.id}/participations/new")).get_data(as_text=True)
    # Their members and the association's external partners; no other member.
    assert "Alpha Firm One" in page and "external partner, DE" in page
    assert "Outsider Firm" not in page and "Beta Firm" not in page
    # Not on another cluster's project.
    assert _partner(client, world, theirs, JSON).status_code == 404
    # A member outside the cluster stays out of reach, even through its PIC.
    with tenant_scope(world.tenant.id):
        world.outsider.pic = "555555555"
        session.flush()
    refused = _partner(client, world, ours, JSON, partner_pic="555555555")
    assert refused.status_code == 422
    assert "outside your cluster" in refused.get_json()["errors"]["partner_pic"][0]
    assert "Outsider" not in refused.get_data(as_text=True)
    # Editing the partner's participation is theirs to do too.
    with tenant_scope(world.tenant.id):
        pid = session.scalar(
            select(Participation.id).where(Participation.organisation_id == created["id"])
        )
    edit = url(world, f"/projects/{ours.id}/participations/{pid}/edit")
    assert client.get(edit).status_code == 200


def test_another_tenant_cannot_see_or_reference_the_partner(world, signed_in, session, make):
    project = make.project(world.tenant)
    client = signed_in(world.users.secretariat)
    created = _partner(client, world, project, JSON, partner_pic="999999999").get_json()
    other = make.tenant(slug="assoc-other", country="PL")
    other_project = make.project(other)
    stranger = make.user(other, role="secretariat")
    # Requests expire the objects: keep what the test needs of them.
    other_id, other_slug, other_project_id = other.id, other.slug, other_project.id
    theirs = signed_in(stranger)
    assert theirs.get(f"/{other_slug}/members/{created['id']}").status_code == 404
    response = theirs.post(
        f"/{other_slug}/projects/{other_project_id}/participations/new",
        data={"organisation_id": str(created["id"]), "role": "partner"},
    )
    assert response.status_code == 422
    assert "Fraunhofer" not in response.get_data(as_text=True)
    # The same PIC in another association is that association's own record.
    mine = theirs.post(
        f"/{other_slug}/projects/{other_project_id}/partners/new",
        data={
            "partner_name": "Fraunhofer",
            "partner_country": "DE",
            "partner_kind": "other",
            "partner_pic": "999999999",
        },
        headers=JSON,
    ).get_json()
    assert mine["reused"] is False and mine["id"] != created["id"]
    assert theirs.get(f"/{world.tenant.slug}/projects/{project.id}").status_code == 404
    with tenant_scope(other_id):
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1
