"""In a real browser: a cluster manager records a three-country consortium, with an
external partner created inline and one found through the alliance partner search,
posts a partner request; another association expresses interest and is accepted,
and only then do the two sides see each other's contact person."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm.extensions import db
from crm.profiles import services as profiles
from crm.tenancy import tenant_scope
from tests.conftest import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser


def _sign_in(page, email):
    page.context.clear_cookies()
    sign_in(page, email)


@pytest.fixture
def two_associations(committed_app):
    with committed_app.app_context():
        make = Factories(db.session)
        es = make.tenant(slug="browser-es", name="Clusters of Spain", country="ES")
        pl = make.tenant(slug="browser-pl", name="Polish Clusters", country="PL")
        cluster = make.cluster(es, name="Basque Robotics Cluster")
        firm = make.org(es, name="Bilbao Machining")
        make.cluster_member(cluster, firm)
        project = make.project(es, status="proposal", acronym="COBOTS", cluster_id=cluster.id)
        make.participation(project, firm, role="coordinator")
        manager = make.user(es, role="cluster_manager", cluster=cluster, email="cm@es.example")
        uni = make.org(pl, kind="university", name="Politechnika Łódzka", city="Łódź")
        make.contact(uni, first_name="Anna", last_name="Nowak", email="anna.nowak@p.lodz.pl")
        with tenant_scope(pl.id):
            profiles.publish(db.session, uni, "Robotics research labs", "robots, cobots")
        secretariat = make.user(pl, role="secretariat", email="sec@pl.example")
        ids = (es.slug, pl.slug, project.id, manager.email, secretariat.email)
        db.session.commit()
    return ids


def test_a_three_country_consortium_then_a_partner_request_accepted_across_associations(
    two_associations, page, console_errors
):
    es, pl, project_id, manager, secretariat = two_associations
    _sign_in(page, manager)

    # 1. An external partner from Norway, created inline in the participant picker.
    page.goto(f"/{es}/projects/{project_id}/participations/new")
    page.locator("#new-partner summary").click()
    page.locator("#partner_name").fill("SINTEF AS")
    page.locator("#partner_country").select_option("NO")
    page.get_by_role("button", name="Record the partner and choose it").click()
    page.get_by_text("SINTEF AS is recorded as an external partner.").wait_for()
    page.get_by_label("Role").select_option("partner")
    page.get_by_role("button", name="Add", exact=True).click()
    assert page.get_by_text("The participant is added.").is_visible()

    # 2. A Polish university found through the alliance partner search (accent-free).
    page.get_by_role("button", name="Find partners in the alliance").click()
    page.get_by_role("searchbox", name="Search").fill("lodz robotics")
    page.get_by_role("button", name="Search").click()
    row = page.locator("tr", has_text="Politechnika Łódzka")
    row.get_by_role("button", name="Add to COBOTS").click()
    assert page.get_by_text("Politechnika Łódzka is added to the consortium.").is_visible()
    consortium = page.locator("table.consortium")
    for name in ("Bilbao Machining", "SINTEF AS", "Politechnika Łódzka"):
        assert consortium.get_by_text(name).is_visible()
    assert consortium.get_by_text("External partner").count() == 2

    # 3. A partner request, prefilled from the proposal.
    page.get_by_role("button", name="Post a partner request").click()
    assert page.get_by_label("Title").input_value().startswith("Partners sought for COBOTS")
    page.get_by_label("Posted for").select_option(label="Basque Robotics Cluster")
    page.get_by_label("Answer by").fill((date.today() + timedelta(days=30)).isoformat())
    page.get_by_label("Description").fill("We seek a pilot site for collaborative robots.")
    page.get_by_role("button", name="Post to the alliance").click()
    assert page.get_by_text("Your partner request is posted to the alliance.").is_visible()
    request_url = page.url

    # 4. The other association expresses interest for its published university.
    _sign_in(page, secretariat)
    page.get_by_role("link", name="Partner requests").click()
    page.get_by_role("link", name="Partners sought for COBOTS").click()
    page.get_by_label("On behalf of").select_option(label="Politechnika Łódzka")
    page.get_by_label("Contact person to share if accepted").select_option(
        label="Anna Nowak (Politechnika Łódzka) <anna.nowak@p.lodz.pl>"
    )
    page.get_by_label("Message").fill("Our cobot lab can host the pilot.")
    page.get_by_role("button", name="Express interest").click()
    assert page.get_by_text("Your interest for Politechnika Łódzka is sent").is_visible()
    assert page.get_by_text("cm@es.example").count() == 0

    # 5. The requester is notified, sees no contact yet, accepts and shares their own.
    _sign_in(page, manager)
    page.get_by_role("link", name="Notifications 1").click()
    page.get_by_text("Politechnika Łódzka expressed interest in your request").wait_for()
    page.get_by_role("link", name="Partners sought for COBOTS").click()
    assert page.get_by_text("anna.nowak@p.lodz.pl").count() == 0
    assert page.get_by_text("Our cobot lab can host the pilot.").is_visible()
    page.get_by_role("button", name="Accept").click()
    assert page.get_by_text("Politechnika Łódzka: accepted.").is_visible()
    assert page.get_by_role("link", name="anna.nowak@p.lodz.pl").is_visible()

    # 6. The interested side sees the acceptance and the requester's contact.
    _sign_in(page, secretariat)
    page.goto(request_url.replace(f"/{es}/", f"/{pl}/"))
    assert page.get_by_text("Accepted").first.is_visible()
    assert page.get_by_role("link", name="cm@es.example").is_visible()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
