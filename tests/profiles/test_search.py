"""The alliance partner search: what is published, what is found, what never leaks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.folding import fold
from crm.models import AuditEvent, Organisation, PartnerProfile
from crm.profiles import services
from crm.profiles.folding import nace_section
from crm.tenancy import tenant_scope
from tests.profiles.conftest import publish


def test_fold_removes_case_accents_and_stroked_letters():
    assert fold("Łódź") == "lodz"
    assert fold("Pérez-García, S.L.") == "perez garcia s l"
    assert nace_section("28.99") == "C" and nace_section("62") == "J" and nace_section("") is None


def _search(client, slug, **args):
    response = client.get(f"/{slug}/partners", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["tenant_admin", "secretariat", "cluster_manager"])
def test_every_tenant_role_finds_other_associations_profiles(alliance, signed_in, role):
    client = signed_in(alliance.users[role])
    page = _search(client, alliance.b.slug)
    assert "Politechnika Łódzka" in page and "Pérez Robotics" in page
    assert "Secret Hydrogen Works" not in page


@pytest.mark.parametrize(
    "query, found",
    [
        ("lodz", "Politechnika Łódzka"),  # accent-free
        ("perez", "Pérez Robotics"),
        ("LÓDŹ politechnika", "Politechnika Łódzka"),
        ("composites", "Politechnika Łódzka"),  # keywords
        ("automaton", "Pérez Robotics"),  # a typo
    ],
)
def test_free_text_is_accent_free_and_typo_tolerant(alliance, signed_in, query, found):
    page = _search(signed_in(alliance.users["secretariat"]), alliance.b.slug, q=query)
    assert found in page


def test_filters(alliance, signed_in):
    client = signed_in(alliance.users["secretariat"])
    eco = alliance.ecosystems[1].code
    assert "Politechnika" not in _search(client, alliance.b.slug, kind="firm")
    page = _search(client, alliance.b.slug, ecosystem=eco)
    assert "Pérez Robotics" in page and "Politechnika" not in page
    page = _search(client, alliance.b.slug, programme="HE")
    assert "Politechnika" in page and "Pérez Robotics" not in page
    page = _search(client, alliance.b.slug, nace="C", country="PL")
    assert "Pérez Robotics" in page and "Politechnika" not in page
    page = _search(client, alliance.b.slug, region="PL71", q="nothing like it")
    assert "No partner profile found" in page
    # Nonsense arguments are dropped, never an error.
    _search(client, alliance.b.slug, kind="x" * 500, page="-3", nace="%%", ecosystem="'; --")


def test_profile_holds_no_contacts_figures_or_notes(alliance, signed_in, session):
    page = _search(signed_in(alliance.users["secretariat"]), alliance.b.slug, q="lodz")
    for private in ("rector@p.lodz.pl", "987", "Internal note", "3000", "3,000"):
        assert private not in page
    with tenant_scope(alliance.b.id):
        profile = session.scalar(select(PartnerProfile).where(PartnerProfile.name.like("Pol%")))
    assert profile.programmes == {"HE": 1}
    columns = set(PartnerProfile.__table__.c.keys())
    assert not columns & {"employees", "turnover_eur", "balance_sheet_eur", "description", "vat_id"}


def test_unpublished_never_appears_whatever_the_route(alliance, signed_in):
    secret_id, slug = alliance.secret.id, alliance.b.slug
    for user in alliance.users.values():
        client = signed_in(user)
        for query in ("", "secret", "hydrogen", "gdansk"):
            assert "Secret Hydrogen" not in _search(client, slug, q=query)
        # No route of B reaches A's organisation by its id.
        for path in (
            f"/{slug}/members/{secret_id}",
            f"/{slug}/members/{secret_id}/profile",
        ):
            assert client.get(path).status_code == 404
        export = client.get(f"/{slug}/members/export.csv")
        assert "Secret Hydrogen" not in export.get_data(as_text=True)


def test_withdrawal_removes_the_profile_from_the_next_search(alliance, signed_in, session):
    a_id, a_slug, b_slug, firm_id = (
        alliance.a.id,
        alliance.a.slug,
        alliance.b.slug,
        alliance.firm.id,
    )
    searcher = signed_in(alliance.users["secretariat"])
    assert "Pérez Robotics" in _search(searcher, b_slug, q="perez")
    staff = signed_in(alliance.users_a["secretariat"])
    response = staff.post(f"/{a_slug}/members/{firm_id}/profile/withdraw")
    assert response.status_code == 302
    assert "Pérez Robotics" not in _search(searcher, b_slug, q="perez")
    with tenant_scope(a_id):
        org = session.get(Organisation, firm_id)
        session.refresh(org)
        assert org.discoverable is False
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == firm_id)
        ).all()
    assert "withdraw" in actions


def test_publishing_is_an_audited_staff_action(alliance, signed_in, session, make):
    org = make.org(alliance.a, name="Gdynia Maritime Lab", city="Gdynia")
    a, org_id, b_slug = alliance.a, org.id, alliance.b.slug
    staff = signed_in(alliance.users_a["secretariat"])
    path = f"/{a.slug}/members/{org_id}/profile"
    assert staff.get(path).status_code == 200
    response = staff.post(path, data={"capabilities": "Ship design", "keywords": "marine"})
    assert response.status_code == 302
    page = _search(signed_in(alliance.users["secretariat"]), b_slug, q="gdynia marine")
    assert "Gdynia Maritime Lab" in page
    with tenant_scope(a.id):
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == org_id)
        ).all()
    assert "publish" in actions
    # Too long a text re-renders the form with the error.
    response = staff.post(path, data={"capabilities": "x" * 700})
    assert response.status_code == 422
    # A cluster manager does not publish.
    with tenant_scope(a.id):
        manager = make.user(a, role="cluster_manager")
    assert signed_in(manager).post(path, data={}).status_code == 404


def test_an_edit_refreshes_and_archiving_withdraws(alliance, session):
    from crm.members import services as members

    with tenant_scope(alliance.a.id):
        members.update_organisation(session, alliance.a.id, alliance.firm, {"city": "Wrocław"})
        profile = services.profile_of(session, alliance.firm.id)
        assert profile.city == "Wrocław" and "wroclaw" in profile.search_text
        members.archive_organisation(session, alliance.uni)
        assert services.profile_of(session, alliance.uni.id) is None


def test_an_association_writes_only_its_own_profiles(alliance, session):
    with tenant_scope(alliance.b.id), pytest.raises(PermissionError):
        services.publish(session, alliance.firm)
    with tenant_scope(None), pytest.raises(PermissionError):
        services.publish(session, alliance.firm)
    with tenant_scope(alliance.b.id), pytest.raises(PermissionError):
        services.withdraw(session, alliance.firm)
    with tenant_scope(alliance.a.id):
        assert services.profile_of(session, alliance.firm.id) is not None


def test_external_partners_are_not_published(alliance, session, make):
    external = make.org(alliance.a, name="Foreign Partner", is_external=True)
    from crm.validation import RuleError

    with pytest.raises(RuleError):
        publish(session, external)


def test_search_page_statement_count_is_constant(alliance, signed_in, count_queries, make):
    client = signed_in(alliance.users["secretariat"])
    path = f"/{alliance.b.slug}/partners"
    client.get(path, query_string={"q": "lodz"})
    with count_queries() as few:
        client.get(path, query_string={"q": "lodz", "kind": "university"})
    for n in range(5):
        publish(session=make.session, org=make.org(alliance.a, name=f"Lodz Firm {n}"))
    with count_queries() as more:
        client.get(path, query_string={"q": "lodz", "kind": "university"})
    assert few.count == more.count


def test_no_search_without_a_tenant_scope(alliance, app):
    from crm.profiles.search import ProfileFilters, search

    with app.test_request_context(), tenant_scope(None):
        assert search(ProfileFilters()).total == 0
    with app.test_request_context(), tenant_scope(alliance.b.id):
        assert search(ProfileFilters()).total == 2
