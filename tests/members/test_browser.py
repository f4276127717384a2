"""In a real browser: the secretariat's day with the members area.

Sign in; search and filter the directory; add an organisation, correct one
invalid field, save; change its membership status; export the filtered list.
"""

from __future__ import annotations

import csv
import io

import pytest

from crm.extensions import db
from tests.conftest import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser


def test_secretariat_manages_members_in_the_browser(committed_app, page, console_errors):
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-members", country="FR", name="Pôles de France")
        user = make.user(tenant, role="secretariat", email="secretariat@browser.example")
        make.cluster(tenant, name="Aerospace Valley", city="Toulouse", nuts2="FRJ2")
        for name, city, employees in (
            ("BioWin Labs", "Lyon", 8),
            ("Robotique Lyon", "Lyon", 120),
            ("Paris Photonics", "Paris", 30),
        ):
            org = make.org(tenant, name=name, city=city, employees=employees, turnover_eur=1_000)
            make.membership(org, status="active")
        slug, email = tenant.slug, user.email
        db.session.commit()
    failed = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)

    # Sign in: the secretariat lands on its dashboard.
    sign_in(page, email)
    page.wait_for_url(f"**/{slug}/dashboard")
    assert page.get_by_role("heading", name="Members by industrial ecosystem").is_visible()
    page.locator("canvas#ecosystem-chart").wait_for()

    # Search and filter.
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_label("Search", exact=True).fill("lyon")
    page.get_by_label("Search", exact=True).press("Enter")
    page.wait_for_url("**q=lyon**")
    table = page.locator("#directory")
    assert table.get_by_role("link", name="BioWin Labs").is_visible()
    assert table.get_by_role("link", name="Paris Photonics").count() == 0
    page.get_by_label("Size class").select_option("micro")  # no submit on change (keyboards)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**size=micro**")
    assert page.get_by_text("1 result").is_visible()
    assert table.get_by_role("link", name="BioWin Labs").is_visible()
    assert table.get_by_role("link", name="Robotique Lyon").count() == 0

    # Export the filtered list.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    path = download_info.value.path()
    with open(path, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert [r["name"] for r in rows] == ["BioWin Labs"]

    # Add an organisation, with one invalid field to correct.
    page.goto(f"/{slug}/members")
    page.get_by_role("button", name="Add an organisation").click()
    page.get_by_label("Kind").select_option("firm")
    page.locator("#name").fill("Marseille Maritime")
    page.get_by_label("City").fill("Marseille")
    page.get_by_label("NUTS-2 region").select_option("ES51")  # a Spanish region, a French firm
    page.get_by_label("Employees (headcount)").fill("40")
    page.get_by_label("Annual turnover (EUR)").fill("5000000")
    page.get_by_label("Membership status").select_option("")  # recorded below
    page.get_by_role("button", name="Add member").click()
    error = page.locator("#nuts2-error")
    assert "starts with FR" in error.inner_text()
    assert page.get_by_label("NUTS-2 region").get_attribute("aria-invalid") == "true"
    assert page.locator("#name").input_value() == "Marseille Maritime"
    page.get_by_label("NUTS-2 region").select_option(label="Provence-Alpes-Côte d’Azur (FRL0)")
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url("**/members/*")
    assert page.get_by_role("heading", name="Marseille Maritime").is_visible()
    assert page.get_by_text("is added").is_visible()
    assert page.locator("#size-class").inner_text() == "Small"  # derived, not typed

    # Change its membership status.
    page.get_by_role("button", name="Record membership status").click()
    page.get_by_label("New status").select_option("active")
    page.get_by_label("Reason").fill("Admitted at the general assembly")
    page.get_by_role("button", name="Change status").click()
    assert page.locator("#membership-status").inner_text() == "Active"
    assert page.get_by_role("cell", name="Admitted at the general assembly").is_visible()
    assert page.locator("#timeline").get_by_text("Admitted at the general assembly").is_visible()
    assert page.title().startswith("Marseille Maritime")

    # The only failed responses: the corrected form (422) and the browser's favicon guess.
    unexpected = [f for f in failed if f[0] != 422 and not f[1].endswith("/favicon.ico")]
    assert not unexpected, unexpected
    assert [f[0] for f in failed].count(422) == 1
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
