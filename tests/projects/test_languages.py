"""The project pages in another language: amounts, dates and counts are written
as the reader's language writes them, whatever the catalogues hold yet."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.projects.conftest import url

NBSP = "\u00a0"


def test_a_polish_reader_sees_polish_amounts_and_dates(world, make, signed_in):
    project = make.project(
        world.tenant,
        total_budget=Decimal("1234567.50"),
        start_date=date(2025, 3, 1),
        end_date=date(2027, 2, 28),
    )
    make.participation(project, world.firm1, role="coordinator", budget_share=Decimal("2500.25"))
    reader = make.user(world.tenant, role="secretariat", language="pl")
    client = signed_in(reader)

    page = client.get(url(world, f"/projects/{project.id}")).get_data(as_text=True)
    assert f"1{NBSP}234{NBSP}567,50{NBSP}€" in page  # total budget, with cents
    assert "1 mar 2025" in page and "28 lut 2027" in page  # the dates
    assert f"2{NBSP}500,25" in page  # the budget share

    listing = client.get(url(world, "/projects")).get_data(as_text=True)
    assert f"1{NBSP}234{NBSP}568" in listing  # whole euros in the list
    assert "1 mar 2025" in listing


def test_an_english_reader_sees_english_amounts_and_dates(world, make, signed_in):
    project = make.project(
        world.tenant, total_budget=Decimal("1234567.50"), start_date=date(2025, 3, 1)
    )
    page = signed_in(world.users.secretariat).get(url(world, f"/projects/{project.id}"))
    text = page.get_data(as_text=True)
    assert "€1,234,567.50" in text and "Mar 1, 2025" in text
