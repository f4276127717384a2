"""In a real browser: import a CSV with one bad row, read the dry run, fix, commit, find it."""

from __future__ import annotations

import pytest

from crm.extensions import db
from tests.conftest import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser

BAD = (
    "Nom;Ville;SIRET;Effectif;Chiffre d'affaires;Région NUTS\n"
    "Atelier Lumière;Lyon;732 829 320 00074;12;1.250.000,00;FRK2\n"
    "Vignobles du Sud;Montpellier;94554855000017;beaucoup;800.000,00;FRJ1\n"
)
FIXED = BAD.replace(";beaucoup;", ";8;")


def upload_and_check(page, slug: str, content: str) -> None:
    page.goto(f"/{slug}/imports")
    page.get_by_label("What the file holds").select_option("organisations")
    page.locator("input#file").set_input_files(
        files=[{"name": "membres.csv", "mimeType": "text/csv", "buffer": content.encode("cp1252")}]
    )
    page.get_by_role("button", name="Upload and choose columns").click()
    assert page.get_by_role("heading", name="Choose the columns").is_visible()
    assert page.get_by_label("Name *").input_value() == "Nom"
    assert page.get_by_label("City").input_value() == "Ville"
    page.get_by_role("button", name="Check the file (dry run)").click()


def test_secretariat_imports_a_csv_after_fixing_its_bad_row(committed_app, page, console_errors):
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-import", name="Pôles Test", country="FR")
        user = make.user(tenant, role="secretariat", email="secretariat@import.example")
        slug, email = tenant.slug, user.email
        db.session.commit()

    sign_in(page, email)

    # The dry run finds the bad row and nothing can be imported.
    upload_and_check(page, slug, BAD)
    assert page.get_by_text("1 row rejected").is_visible()
    rejected = page.locator("table.import-rejected tbody tr")
    assert rejected.count() == 1
    assert rejected.first.locator("td").first.inner_text() == "3"
    assert "“beaucoup” is not a whole number" in rejected.first.inner_text()
    assert page.get_by_role("button", name="Import").count() == 0

    # The corrected file goes through.
    upload_and_check(page, slug, FIXED)
    assert page.locator("#count-created").inner_text() == "2"
    page.get_by_role("button", name="Import 2 rows").click()
    assert page.get_by_text("Imported: 2 created").is_visible()

    # The organisations are in the directory.
    page.goto(f"/{slug}/members")
    assert page.get_by_text("Atelier Lumière").first.is_visible()
    assert page.get_by_text("Vignobles du Sud").first.is_visible()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
