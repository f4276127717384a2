"""NUTS and NACE revisions stored with the codes: defaults, the form and the page, the
directory export, the import (column suggestion, choices, blank cells), validation."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from crm.models import Organisation
from crm.validation import check_nace, organisation_errors
from tests.members.test_validation import VALID


def test_revisions_default_to_nuts_2021_and_nace_rev_2(assoc, make):
    org = make.org(assoc.tenant, nuts2="FR10", nace="26.11")
    assert (org.nuts_revision, org.nace_revision) == ("2021", "2")
    response = assoc.client.post(f"{assoc.url}/members/new", data={**VALID, "nace": "62.01"})
    assert response.status_code == 302
    (created,) = assoc.scalars(select(Organisation).where(Organisation.nace == "62.01"))
    assert (created.nuts_revision, created.nace_revision) == ("2021", "2")


def test_the_form_stores_the_revisions_and_the_page_shows_them(assoc):
    data = {**VALID, "nace": "62.10", "nace_revision": "2.1", "nuts_revision": "2024"}
    response = assoc.client.post(f"{assoc.url}/members/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    (org,) = assoc.scalars(select(Organisation))
    assert (org.nuts_revision, org.nace_revision) == ("2024", "2.1")
    org_id = org.id  # read now: after a request RLS hides it outside the tenant's scope
    page = assoc.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "(NUTS 2024)" in page and "(Rev. 2.1)" in page
    form = assoc.client.get(f"{assoc.url}/members/{org_id}/edit").get_data(as_text=True)
    assert '<option selected value="2.1">NACE Rev. 2.1</option>' in form


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nuts_revision": "2013"}, "Not a valid choice"),
        ({"nace_revision": "3"}, "Not a valid choice"),
        ({"nace": "V", "nace_revision": "2"}, "Section V exists in NACE Rev. 2.1 only"),
    ],
)
def test_the_form_refuses_an_unknown_revision(assoc, changes, message):
    response = assoc.client.post(f"{assoc.url}/members/new", data={**VALID, **changes})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert assoc.count(Organisation) == 0


def test_rules_shared_with_the_import():
    assert check_nace("V", "2.1") is None and check_nace("V") is not None
    assert check_nace("U", "2") is None
    errors = organisation_errors({"nuts_revision": "1999", "nace_revision": "2.1"})
    assert set(errors) == {"nuts_revision"}


def test_the_export_carries_the_revisions(assoc, make):
    make.org(assoc.tenant, name="Rev21", nace="62.10", nace_revision="2.1", nuts2="FR10")
    export = assoc.client.get(f"{assoc.url}/members/export.csv")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["name"], r["nuts_revision"], r["nace"], r["nace_revision"]) for r in rows] == [
        ("Rev21", "2021", "62.10", "2.1")
    ]
