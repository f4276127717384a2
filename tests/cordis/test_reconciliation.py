"""Reconciliation with the CORDIS sample: matching by PIC then VAT (names as suggestions
only), Accept and Dismiss, the grants CORDIS does not know, and each association seeing
only what concerns its own organisations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.cordis import queries, services
from crm.cordis.loader import load_export
from crm.models import CordisDismissal, CordisLink, Organisation, Participation, Project
from crm.tenancy import tenant_scope
from tests.cordis.conftest import SAMPLE, empty_cordis


@pytest.fixture(scope="module")
def sample_loaded(owner_engine):
    """The sample, committed before any test transaction opens (module scope)."""
    empty_cordis(owner_engine)
    load_export(owner_engine, [SAMPLE])
    yield
    empty_cordis(owner_engine)


@pytest.fixture
def fr(sample_loaded, make, signed_in):
    tenant = make.tenant(slug="cordis-fr", country="FR")
    orgs = SimpleNamespace(
        acme=make.org(tenant, name="Acme Robotique", city="Lyon", pic="999100001"),
        bolt=make.org(tenant, name="Bolt Énergie", city="Grenoble", vat_id="FR96552100554"),
        ciel=make.org(tenant, name="Ciel Bio SARL", city="Nantes"),
        # Its PIC is not in CORDIS: its VAT number (Bolt's in CORDIS) is not used.
        other=make.org(tenant, name="Other", pic="123456789", vat_id="FR96552100554"),
        # Acme's namesake: CORDIS's Acme row has a PIC Acme holds, so no suggestion.
        namesake=make.org(tenant, name="ACME Robotique S.A.S.", city="Lyon"),
    )
    client = signed_in(make.user(tenant, role="secretariat"))
    # Ids, read now: after a request the test's objects are expired, and on PostgreSQL
    # row-level security hides them from a test body outside the association's scope.
    ids = SimpleNamespace(**{name: org.id for name, org in vars(orgs).items()})
    return SimpleNamespace(
        tenant=tenant, tenant_id=tenant.id, ids=ids, client=client, url=f"/{tenant.slug}/cordis"
    )


@pytest.fixture
def pl(sample_loaded, make, signed_in):
    tenant = make.tenant(slug="cordis-pl", country="PL")
    tul = make.org(tenant, kind="university", name="Politechnika Łódzka", pic="999100002")
    client = signed_in(make.user(tenant, role="secretariat"))
    return SimpleNamespace(
        tenant=tenant, tenant_id=tenant.id, tul=tul.id, client=client, url=f"/{tenant.slug}/cordis"
    )


def in_scope(tenant_id, fn, *args):
    with tenant_scope(tenant_id):
        return fn(*args)


def test_matches_by_pic_then_vat_and_names_only_as_suggestions(fr):
    rows = in_scope(fr.tenant_id, queries.unrecorded, fr.tenant_id)
    found = {(r.organisation_name, r.grant_key, r.matched_by, r.role) for r in rows}
    assert found == {
        ("Acme Robotique", "101070001", "PIC", "coordinator"),
        ("Acme Robotique", "101080002", "PIC", "participant"),
        ("Bolt Énergie", "101080002", "VAT", "coordinator"),
    }
    suggestions = in_scope(fr.tenant_id, queries.name_suggestions, fr.tenant_id)
    assert [(s.organisation_name, s.cordis_name, s.pic, s.grants) for s in suggestions] == [
        ("Ciel Bio SARL", "CIEL BIO", "999100004", 1)
    ]
    page = fr.client.get(fr.url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ROBOFAB" in html and "HYDROGEN-VALLEYS" in html and "CIEL BIO" in html
    assert "CLUSTERS4EU" not in html  # Ciel Bio's grant: a suggestion is never a match


def test_accept_creates_what_cordis_says_and_a_second_accept_does_nothing(fr, session):
    acme = fr.ids.acme
    form = {"organisation_id": acme, "grant_key": "101070001"}
    response = fr.client.post(f"{fr.url}/accept", data=form)
    assert response.status_code == 302 and "/projects/" in response.headers["Location"]
    with tenant_scope(fr.tenant_id):
        (project,) = session.scalars(select(Project)).all()
        assert (project.programme_code, project.acronym, project.grant_key) == (
            "HE", "ROBOFAB", "101070001"
        )  # fmt: skip
        assert project.title == "Robotic fabrication; flexible cells for SMEs"
        assert (project.start_date, project.end_date) == (date(2023, 1, 1), date(2026, 12, 31))
        assert project.total_budget == Decimal("4999875.50")
        assert project.eu_contribution == Decimal("4999875.50")
        assert project.call_id == "HORIZON-CL4-2022-TWIN-TRANSITION-01-02"
        (participation,) = session.scalars(select(Participation)).all()
        assert (participation.organisation_id, participation.role) == (acme, "coordinator")
        assert participation.budget_share == Decimal("1250000")
        link = session.scalar(select(CordisLink))
        assert link.created_project and link.project_id == project.id
    again = fr.client.post(f"{fr.url}/accept", data=form, follow_redirects=True)
    assert "already records it" in again.get_data(as_text=True)
    with tenant_scope(fr.tenant_id):
        assert session.scalar(select(func.count()).select_from(Project)) == 1
        assert session.scalar(select(func.count()).select_from(Participation)) == 1
    rows = in_scope(fr.tenant_id, queries.unrecorded, fr.tenant_id)
    assert ("101070001", acme) not in {(r.grant_key, r.organisation_id) for r in rows}


def test_two_members_of_one_grant_share_one_project(fr, session):
    for org in (fr.ids.bolt, fr.ids.acme):
        data = {"organisation_id": org, "grant_key": "101080002"}
        assert fr.client.post(f"{fr.url}/accept", data=data).status_code == 302
    with tenant_scope(fr.tenant_id):
        (project,) = session.scalars(select(Project)).all()
        assert project.acronym == "HYDROGEN-VALLEYS" and project.eu_contribution == 6_000_000
        roles = dict(
            session.execute(select(Participation.organisation_id, Participation.role)).all()
        )
    assert roles == {fr.ids.bolt: "coordinator", fr.ids.acme: "partner"}


def test_accept_completes_a_recorded_project(pl, make, session):
    recorded = make.project(
        pl.tenant, programme="H2020", grant_number="GA 870004", acronym="GP", total_budget=None
    )
    recorded_id = recorded.id
    data = {"organisation_id": pl.tul, "grant_key": "870004"}
    assert pl.client.post(f"{pl.url}/accept", data=data).status_code == 302
    with tenant_scope(pl.tenant_id):
        (project,) = session.scalars(select(Project)).all()
        assert project.id == recorded_id and project.acronym == "GP"  # what was typed stays
        assert project.start_date == date(2020, 1, 1) and project.total_budget == 3_000_000
        assert not session.scalar(select(CordisLink)).created_project
        participation = session.scalar(select(Participation))
        assert (participation.role, participation.budget_share) == ("coordinator", 1_500_000)


def test_the_link_is_unique_per_association_and_grant(fr, session):
    fr.client.post(
        f"{fr.url}/accept", data={"organisation_id": fr.ids.acme, "grant_key": "101070001"}
    )
    with tenant_scope(fr.tenant_id):
        project = session.scalar(select(Project))
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(
                CordisLink(tenant_id=fr.tenant_id, grant_key="101070001", project_id=project.id)
            )
            session.flush()


def test_accept_refuses_what_cordis_does_not_say(fr, pl, session):
    ciel = {"organisation_id": fr.ids.ciel, "grant_key": "101090003"}  # a name match only
    page = fr.client.post(f"{fr.url}/accept", data=ciel, follow_redirects=True)
    assert "CORDIS does not list Ciel Bio SARL in grant 101090003" in page.get_data(as_text=True)
    foreign = {"organisation_id": fr.ids.acme, "grant_key": "101070001"}
    page = pl.client.post(f"{pl.url}/accept", data=foreign, follow_redirects=True)
    assert "Choose an organisation of your association" in page.get_data(as_text=True)
    with tenant_scope(fr.tenant_id):
        assert session.scalar(select(func.count()).select_from(Project)) == 0
    with tenant_scope(pl.tenant_id):
        assert session.scalar(select(func.count()).select_from(Project)) == 0


def test_each_association_sees_only_its_own_organisations(fr, pl):
    fr_html = fr.client.get(fr.url).get_data(as_text=True)
    pl_html = pl.client.get(pl.url).get_data(as_text=True)
    assert "Acme Robotique" in fr_html and "Politechnika" not in fr_html
    assert "Politechnika Łódzka" in pl_html
    for theirs in ("Acme", "Bolt", "Ciel", "HYDROGEN-VALLEYS"):
        assert theirs not in pl_html
    rows = in_scope(pl.tenant_id, queries.unrecorded, pl.tenant_id)
    assert {r.grant_key for r in rows} == {"101070001", "101090003", "870004"}
    assert {r.organisation_id for r in rows} == {pl.tul}
    assert pl.client.get(fr.url).status_code == 404


def test_dismiss_needs_a_reason_and_takes_the_row_out(fr, session):
    data = {"organisation_id": fr.ids.acme, "grant_key": "101080002"}
    refused = fr.client.post(f"{fr.url}/dismiss", data={**data, "reason": " "})
    assert refused.status_code == 422
    assert "Say why" in refused.get_data(as_text=True)
    for _ in range(2):
        done = fr.client.post(f"{fr.url}/dismiss", data={**data, "reason": "Left the consortium"})
        assert done.status_code == 302
    with tenant_scope(fr.tenant_id):
        (dismissal,) = session.scalars(select(CordisDismissal)).all()
        assert dismissal.reason == "Left the consortium"
    rows = in_scope(fr.tenant_id, queries.unrecorded, fr.tenant_id)
    assert {(r.organisation_id, r.grant_key) for r in rows} == {
        (fr.ids.acme, "101070001"),
        (fr.ids.bolt, "101080002"),
    }


def test_recorded_grants_cordis_does_not_know(fr, make):
    make.project(fr.tenant, grant_number="101000999", acronym="MISSING", status="running")
    make.project(fr.tenant, grant_number="101070001", acronym="KNOWN", status="funded")
    make.project(fr.tenant, grant_number="101000998", acronym="DRAFT", status="proposal")
    make.project(
        fr.tenant, programme="ERDF", grant_number="ERDF-1", acronym="REGIONAL", status="funded"
    )
    rows = in_scope(fr.tenant_id, queries.unknown_grants, fr.tenant_id)
    assert [r.acronym for r in rows] == ["MISSING"]
    assert "MISSING" in fr.client.get(fr.url).get_data(as_text=True)


def test_status_of_a_cordis_grant():
    grant = SimpleNamespace(
        status="SIGNED", start_date=date(2023, 1, 1), end_date=date(2026, 12, 31)
    )
    assert services.project_status(grant, date(2025, 1, 1)) == "running"
    assert services.project_status(grant, date(2022, 6, 1)) == "funded"
    assert services.project_status(grant, date(2027, 1, 1)) == "closed"
    assert services.project_status(SimpleNamespace(status="CLOSED"), date(2025, 1, 1)) == "closed"


def test_the_project_form_prefills_from_cordis(fr, make, signed_in):
    answer = fr.client.get(f"{fr.url}/grant?number=GA%20101-070-001")
    assert answer.status_code == 200
    fields = answer.get_json()["fields"]
    assert fields["acronym"] == "ROBOFAB" and fields["programme_code"] == "HE"
    assert fields["start_date"] == "2023-01-01" and fields["total_budget"] == "4999875.50"
    assert fields["grant_number"] == "101070001"
    missing = fr.client.get(f"{fr.url}/grant?number=999")
    assert missing.status_code == 404 and missing.get_json() == {"found": False}
    form = fr.client.get(f"/{fr.tenant.slug}/projects/new").get_data(as_text=True)
    assert 'data-cordis-grant-url="/cordis-fr/cordis/grant"' in form and "js/cordis.js" in form
    outsider = signed_in(make.user(make.tenant(slug="cordis-other"), role="secretariat"))
    assert outsider.get(f"{fr.url}/grant?number=101070001").status_code == 404


def test_consortium_partners_are_added_as_external_partners_once(fr, pl, session):
    """ROBOFAB's other participants (a Polish university, a Greek one, Fraunhofer) are no
    members of the French association: offered, added with CORDIS's country, city, PIC,
    kind, role and EC contribution; a second time adds nothing."""
    accept = {"organisation_id": fr.ids.acme, "grant_key": "101070001"}
    assert fr.client.post(f"{fr.url}/accept", data=accept).status_code == 302
    with tenant_scope(fr.tenant_id):
        project_id = session.scalar(select(Project.id))
    (offered,) = in_scope(fr.tenant_id, queries.partners_to_add, fr.tenant_id)
    assert (offered.id, offered.grant_key, offered.partners) == (project_id, "101070001", 3)
    assert "Add as external partners" in fr.client.get(fr.url).get_data(as_text=True)

    url = f"{fr.url}/projects/{project_id}/partners"
    page = fr.client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "Added as external partners" in page and "POLITECHNIKA LODZKA" in page
    with tenant_scope(fr.tenant_id):
        added = session.execute(
            select(
                Organisation.pic, Organisation.country, Organisation.city, Organisation.kind,
                Organisation.is_external, Participation.role, Participation.budget_share,
            )
            .join(Participation, Participation.organisation_id == Organisation.id)
            .where(Participation.project_id == project_id, Organisation.is_external.is_(True))
            .order_by(Organisation.pic)
        ).all()  # fmt: skip
    assert added == [
        ("999100002", "PL", "Łódź", "university", True, "partner", Decimal("900000")),
        ("999100010", "GR", "Thessaloniki", "university", True, "partner", Decimal("800000")),
        ("999100011", "DE", "München", "research_org", True, "partner", Decimal("1049875.50")),
    ]
    assert in_scope(fr.tenant_id, queries.partners_to_add, fr.tenant_id) == []
    again = fr.client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "No partner to add" in again
    with tenant_scope(fr.tenant_id):
        assert session.scalar(select(func.count()).select_from(Participation)) == 4
        assert session.scalar(select(func.count()).where(Organisation.is_external)) == 3
    # The Polish association's university is in ROBOFAB too: for the Poles it is a
    # member, never an external partner; and the French project is not theirs.
    assert pl.client.post(url).status_code == 404
    with tenant_scope(pl.tenant_id):
        assert session.scalar(select(func.count()).where(Organisation.is_external)) == 0


def test_the_page_reads_a_bounded_number_of_statements(fr, count_queries):
    """One statement per list (plus the page's own), whatever each list holds."""

    def statements() -> int:
        with count_queries() as counter:
            assert fr.client.get(fr.url).status_code == 200
        return counter.count

    few = statements()
    accept = {"organisation_id": fr.ids.acme, "grant_key": "101070001"}
    assert fr.client.post(f"{fr.url}/accept", data=accept).status_code == 302
    # The consortium list went from nothing to a row, the unrecorded one lost one.
    assert in_scope(fr.tenant_id, queries.partners_to_add, fr.tenant_id)
    assert statements() == few
