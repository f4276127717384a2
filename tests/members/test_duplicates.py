"""Duplicate warnings on the new-member form, and the association's duplicates report."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from crm.duplicates.names import similarity
from crm.models import Organisation
from tests.members.test_validation import VALID


@pytest.mark.parametrize(
    ("field", "stored", "typed", "reason"),
    [
        ("registration_id", "552100554", "552 100 554", "same registration number"),
        ("vat_id", "FR96552100554", "fr 96 552 100 554", "same VAT number"),
        ("pic", "999888777", "999-888-777", "same PIC"),
    ],
)
def test_same_identifier_warns_and_saving_anyway_is_a_choice(
    assoc, make, field, stored, typed, reason
):
    data = {
        **VALID,
        "registration_id": "",
        "vat_id": "",
        "name": "Quite Another Name",
        field: typed,
    }
    existing_id = make.org(assoc.tenant, name="Already Here", city="Lille", **{field: stored}).id
    response = assoc.client.post(f"{assoc.url}/members/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert reason in page and f"/members/{existing_id}" in page and "save anyway" in page
    assert assoc.count(Organisation) == 1  # nothing written

    response = assoc.client.post(f"{assoc.url}/members/new", data={**data, "save_anyway": "y"})
    if field == "pic":  # a PIC names one organisation: saving anyway is refused
        assert response.status_code == 422
        assert "already recorded for Already Here" in response.get_data(as_text=True)
        assert assoc.count(Organisation) == 1
    else:
        assert response.status_code == 302
        assert assoc.count(Organisation) == 2


@pytest.mark.parametrize(
    ("name", "city", "warned"),
    [
        ("ACME Robotics SAS", "Paris", True),
        ("Acme  Robotics", "paris", True),
        ("ACME Robotics SAS", "Lyon", False),  # another city
        ("Acme Foods", "Paris", False),  # another firm
    ],
)
def test_similar_name_in_the_same_city_warns(assoc, make, name, city, warned):
    make.org(assoc.tenant, name="Acme Robotics", city="Paris")
    data = {**VALID, "registration_id": "", "vat_id": "", "name": name, "city": city}
    response = assoc.client.post(f"{assoc.url}/members/new", data=data)
    page = response.get_data(as_text=True)
    assert ("similar name in the same city" in page) is warned
    assert response.status_code == (422 if warned else 302)


def test_merged_and_foreign_organisations_are_never_candidates(assoc, make):
    survivor = make.org(assoc.tenant, name="Kept Firm", city="Nice")
    make.org(
        assoc.tenant, name="Acme Robotics", city="Paris", merged_into_id=survivor.id, archived=True
    )
    make.org(make.tenant(), name="Acme Robotics", city="Paris", vat_id="FR96552100554")
    data = {**VALID, "registration_id": "", "name": "Acme Robotics"}
    response = assoc.client.post(f"{assoc.url}/members/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def test_report_lists_likely_pairs_with_a_fixed_number_of_queries(assoc, make, count_queries):
    make.org(assoc.tenant, name="Acme Robotics", city="Paris")
    make.org(assoc.tenant, name="ACME ROBOTICS", city="PARIS")
    make.org(assoc.tenant, name="Acme Robotics SAS", city="Paris")  # similar: warned on create
    make.org(assoc.tenant, name="Bolt", city="Lyon", vat_id="FR96552100554")
    make.org(assoc.tenant, name="Bolt Energy", city="Grenoble", vat_id="FR96552100554")
    make.org(assoc.tenant, name="Alone", city="Paris")
    make.org(make.tenant(), name="Acme Robotics", city="Paris")  # another association's
    with count_queries() as small:
        page = assoc.client.get(f"{assoc.url}/duplicates").get_data(as_text=True)
    assert "Bolt Energy" in page and "same VAT number" in page
    assert "ACME ROBOTICS" in page and "same name in the same city" in page
    assert "Acme Robotics SAS" not in page
    assert page.count("Merge…") == 2  # two pairs
    for n in range(6):
        make.org(assoc.tenant, name=f"Twin {n}", city="Nantes", registration_id=f"REG-{n // 2}")
    with count_queries() as large:
        page = assoc.client.get(f"{assoc.url}/duplicates").get_data(as_text=True)
    assert page.count("<td>same registration number</td>") == 3
    assert large.count == small.count

    csv = assoc.client.get(f"{assoc.url}/duplicates/export.csv").get_data(as_text=True)
    assert csv.count("\n") == 1 + 5 and "Bolt Energy" in csv


def test_report_empty_state(assoc, make):
    make.org(assoc.tenant, name="Alone")
    page = assoc.client.get(f"{assoc.url}/duplicates").get_data(as_text=True)
    assert "No likely duplicates" in page


def test_python_similarity_is_pg_trgms():
    assert similarity("acme robotics", "acme robotics sas") == pytest.approx(14 / 18)
    assert similarity("acme robotics", "acme foods") < 0.6
    assert similarity("", "x") == 0.0


@pytest.mark.postgres
def test_python_similarity_agrees_with_pg_trgm(session):
    pairs = [
        ("acme robotics", "acme robotics sas"),
        ("łódź tech", "lodz tech"),
        ("fraunhofer-gesellschaft e.v.", "fraunhofer gesellschaft"),
        ("a", "b"),
    ]
    for a, b in pairs:
        expected = session.scalar(text("SELECT similarity(:a, :b)"), {"a": a, "b": b})
        assert similarity(a, b) == pytest.approx(expected, abs=1e-6), (a, b)
