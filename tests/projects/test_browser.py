"""In a real browser: a cluster manager logs a proposal with two member firms and
marks it funded; the secretariat finds it in the association's project list."""

from __future__ import annotations

import pytest

from crm.extensions import db
from tests.conftest import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser


def _sign_in(page, email):
    page.context.clear_cookies()
    sign_in(page, email)


def test_manager_logs_a_funded_proposal_the_secretariat_sees(committed_app, page, console_errors):
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-proj", name="Browser Clusters", country="PT")
        cluster = make.cluster(tenant, name="Ocean Tech Cluster")
        for name in ("Blue Firm", "Green Firm", "Grey Firm"):
            make.cluster_member(cluster, make.org(tenant, name=name))
        manager = make.user(tenant, role="cluster_manager", cluster=cluster, email="cm@b.example")
        secretariat = make.user(tenant, role="secretariat", email="sec@b.example")
        slug, manager_email, secretariat_email = tenant.slug, manager.email, secretariat.email
        db.session.commit()

    _sign_in(page, manager_email)
    page.get_by_role("link", name="My cluster").click()
    assert page.get_by_role("heading", name="Ocean Tech Cluster").is_visible()
    page.get_by_role("button", name="Log a proposal").first.click()
    page.get_by_label("Programme").select_option("HE")
    page.get_by_label("Grant agreement number").fill("GA 101 555 777")
    page.get_by_label("Acronym").fill("SEAFLOOR")
    page.get_by_label("Title").fill("Autonomous seafloor mapping for SMEs")
    page.get_by_label("Total budget (EUR)").fill("2000000")
    page.get_by_label("Member organisations taking part").select_option(
        label=["Blue Firm", "Green Firm"]
    )
    page.get_by_role("button", name="Log proposal").click()
    assert page.get_by_text("The proposal SEAFLOOR is logged.").is_visible()
    consortium = page.locator("table.consortium")
    for name in ("Ocean Tech Cluster", "Blue Firm", "Green Firm"):
        assert consortium.get_by_text(name).is_visible()
    assert consortium.get_by_text("Grey Firm").count() == 0

    page.get_by_role("button", name="Record outcome").click()
    page.get_by_label("New status").select_option("funded")
    page.get_by_label("EU contribution received (EUR)").fill("1400000")
    page.get_by_role("button", name="Record").click()
    assert page.get_by_text("SEAFLOOR is now funded.").is_visible()
    assert page.locator("ol.status-history li").count() == 2

    _sign_in(page, secretariat_email)
    page.goto(f"/{slug}/projects")
    row = page.locator("table.projects-list tr", has_text="SEAFLOOR")
    assert row.is_visible()
    assert row.get_by_text("Funded").is_visible()
    assert row.get_by_text("Ocean Tech Cluster").is_visible()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_manager_records_an_external_partner_without_leaving_the_form(
    committed_app, page, console_errors
):
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-partner", name="Partner Clusters", country="PT")
        cluster = make.cluster(tenant, name="Ocean Tech Cluster")
        make.cluster_member(cluster, make.org(tenant, name="Blue Firm"))
        project = make.project(tenant, acronym="NORTHSEA", cluster_id=cluster.id)
        manager = make.user(tenant, role="cluster_manager", cluster=cluster, email="cm@p.example")
        slug, project_id, email = tenant.slug, project.id, manager.email
        db.session.commit()

    _sign_in(page, email)
    page.goto(f"/{slug}/projects/{project_id}/participations/new")
    page.locator("#new-partner summary").click()
    page.locator("#partner_name").fill("SINTEF AS")
    page.locator("#partner_country").select_option("NO")
    page.get_by_label("PIC").fill("1234")
    page.get_by_role("button", name="Record the partner and choose it").click()
    page.get_by_text("A PIC is 9 digits").wait_for()  # the script's answer, no reload
    page.get_by_label("PIC").fill("999 999 999")
    page.get_by_role("button", name="Record the partner and choose it").click()
    page.get_by_text("SINTEF AS is recorded as an external partner.").wait_for()
    assert page.url.endswith(f"/projects/{project_id}/participations/new")  # never left
    chosen = page.locator("#organisation_id")
    assert chosen.locator("option:checked").inner_text() == "SINTEF AS — external partner, NO"
    page.get_by_label("Role").select_option("partner")
    page.get_by_role("button", name="Add", exact=True).click()
    assert page.get_by_text("The participant is added.").is_visible()
    consortium = page.locator("table.consortium")
    assert consortium.get_by_text("SINTEF AS").is_visible()
    assert consortium.get_by_text("External partner").is_visible()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
