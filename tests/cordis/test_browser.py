"""In a real browser: typing a grant number on "Record a project" fills the empty
fields from CORDIS (static/js/cordis.js), keeps what was typed, and says when CORDIS
does not know the number."""

from __future__ import annotations

import pytest

from crm.cordis.loader import load_export
from crm.extensions import db
from tests.conftest import sign_in
from tests.cordis.conftest import SAMPLE
from tests.factories import Factories

pytestmark = pytest.mark.browser


def test_the_project_form_fills_from_cordis(committed_app, owner_engine, page, console_errors):
    load_export(owner_engine, [SAMPLE])  # committed_app empties the tables afterwards
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-cordis", name="Browser Clusters", country="FR")
        make.cluster(tenant, name="Robotics Cluster")
        email = make.user(tenant, role="secretariat", email="sec@cordis.example").email
        slug = tenant.slug
        db.session.commit()

    sign_in(page, email)
    page.goto(f"/{slug}/projects/new")
    page.get_by_label("Acronym").fill("MYROBO")  # typed first: CORDIS must not replace it
    page.get_by_label("Programme").select_option("EIC")  # chosen: kept too
    page.get_by_label("Grant agreement number").fill("GA 101-070-001")
    page.get_by_label("Grant agreement number").press("Tab")  # the change event
    page.get_by_text("Empty fields filled from CORDIS").wait_for()
    assert page.get_by_label("Acronym").input_value() == "MYROBO"
    assert (
        page.get_by_label("Title").input_value() == "Robotic fabrication; flexible cells for SMEs"
    )
    assert page.get_by_label("Programme").input_value() == "EIC"
    assert page.locator("select#status").input_value() == "running"  # not "proposal"
    assert page.get_by_label("Start date").input_value() == "2023-01-01"
    assert page.get_by_label("End date").input_value() == "2026-12-31"
    assert page.get_by_label("Call id").input_value() == "HORIZON-CL4-2022-TWIN-TRANSITION-01-02"
    assert page.get_by_label("Total budget (EUR)").input_value() == "4999875.50"

    page.get_by_role("button", name="Record project").click()
    assert page.get_by_role("heading", name="MYROBO").first.is_visible()
    assert page.get_by_text("Robotic fabrication; flexible cells for SMEs").first.is_visible()

    page.goto(f"/{slug}/projects/new")
    page.get_by_label("Grant agreement number").fill("101999999")
    page.get_by_label("Grant agreement number").press("Tab")
    page.get_by_text("Not in CORDIS.").wait_for()
    assert page.get_by_label("Title").input_value() == ""
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
