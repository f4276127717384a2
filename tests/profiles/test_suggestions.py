"""Suggested partners on a proposal's page, and adding one in one click."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models import Organisation, Participation, PartnerProfile
from crm.tenancy import tenant_scope


def _proposal(make, session, alliance):
    """B's proposal in HE with a firm and the first ecosystem, no university."""
    project = make.project(alliance.b, programme="HE", status="proposal", acronym="BPROP")
    firm = make.org(alliance.b, name="Bilbao Machining", nace="28.41")
    make.participation(project, firm, role="coordinator")
    with tenant_scope(alliance.b.id):
        project.ecosystems = [alliance.ecosystems[0]]
        session.flush()
    return project


def test_suggestions_rank_and_explain(alliance, make, session, signed_in):
    project = _proposal(make, session, alliance)
    client = signed_in(alliance.users["secretariat"])
    page = client.get(f"/{alliance.b.slug}/projects/{project.id}/suggestions")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # The university comes first: shared ecosystem, a kind the consortium lacks,
    # and funded experience in HE.
    assert text.index("Politechnika Łódzka") < text.index("Pérez Robotics")
    assert "the consortium has no university or research organisation" in text
    assert "1 funded project in HE" in text
    assert "Same NACE division as a consortium member (28.99)" in text
    assert "Secret Hydrogen" not in text


def test_one_click_adds_an_external_partner_and_reuses_it(alliance, make, session, signed_in):
    project = _proposal(make, session, alliance)
    b_id, slug, project_id = alliance.b.id, alliance.b.slug, project.id
    with tenant_scope(alliance.a.id):
        profile_id = session.scalar(
            select(PartnerProfile.id).where(PartnerProfile.organisation_id == alliance.uni.id)
        )
    client = signed_in(alliance.users["secretariat"])
    path = f"/{slug}/projects/{project_id}/suggestions/add"
    response = client.post(path, data={"profile_id": profile_id, "role": "partner"})
    assert response.status_code == 302
    client.get(response.location)  # shows (and so clears) the message
    with tenant_scope(b_id):
        partner = session.scalar(
            select(Organisation).where(Organisation.name == "Politechnika Łódzka")
        )
        assert partner.is_external and partner.tenant_id == b_id and partner.country == "PL"
        assert (
            session.scalar(
                select(func.count())
                .select_from(Participation)
                .where(Participation.project_id == project_id)
            )
            == 2
        )
    # Suggested no more once in the consortium; adding again is refused, not duplicated.
    page = client.get(f"/{slug}/projects/{project_id}/suggestions").get_data(as_text=True)
    assert "Politechnika Łódzka" not in page
    again = client.post(path, data={"profile_id": profile_id, "role": "partner"})
    assert again.status_code in (200, 422)
    with tenant_scope(b_id):
        assert (
            session.scalar(
                select(func.count())
                .select_from(Organisation)
                .where(Organisation.name.like("Poli%"))
            )
            == 1
        )


def test_withdrawn_own_or_unknown_profiles_cannot_be_added(alliance, make, session, signed_in):
    project = _proposal(make, session, alliance)
    slug, project_id = alliance.b.slug, project.id
    with tenant_scope(alliance.b.id):
        own = make.org(alliance.b, name="Own Member")
    from tests.profiles.conftest import publish

    own_profile = publish(session, own)
    client = signed_in(alliance.users["secretariat"])
    path = f"/{slug}/projects/{project_id}/suggestions/add"
    for profile_id in (own_profile.id, 999_999, "x", -1, 2**40):
        response = client.post(path, data={"profile_id": profile_id, "role": "partner"})
        assert response.status_code == 422, profile_id
    # A cluster manager outside the project cannot add to it.
    manager = signed_in(alliance.users["cluster_manager"])
    assert manager.post(path, data={"profile_id": 1, "role": "partner"}).status_code == 404


def test_the_search_from_a_proposal_adds_a_found_partner(alliance, make, session, signed_in):
    project = _proposal(make, session, alliance)
    slug, project_id = alliance.b.slug, project.id
    foreign = make.project(alliance.a, status="proposal").id
    client = signed_in(alliance.users["secretariat"])
    page = client.get(f"/{slug}/partners?q=lodz&project_id={project_id}")
    assert page.status_code == 200
    assert "Add to BPROP" in page.get_data(as_text=True)
    # Another association's project, or one the user may not edit: 404.
    assert client.get(f"/{slug}/partners?project_id={foreign}").status_code == 404
    # Without a project the search offers no button.
    assert "Add to" not in client.get(f"/{slug}/partners?q=lodz").get_data(as_text=True)
