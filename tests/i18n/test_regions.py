"""Countries and NUTS-2 regions by name, not code: the data, the names shown,
the lists they are chosen from, and a typed name read back into its code."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from crm import regions
from crm.demo.data import REGIONS as DEMO_REGIONS
from crm.i18n import _
from crm.models import Organisation
from crm.tenancy import tenant_scope
from tests.members.test_directory import names
from tests.members.test_validation import VALID

ALLIANCE = ("FR", "ES", "PL", "RO", "CZ", "PT", "BG", "HU", "LT", "FI", "LV", "SK")
EU_EEA = (
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO"
).split()


def test_every_region_is_a_nuts2_code_of_its_country():
    listed = regions.regions()
    assert len(listed) > 240
    for code, region in listed.items():
        assert re.fullmatch(r"[A-Z]{2}[0-9A-Z]{2}", code) and not code.endswith("ZZ")
        assert set(region.revisions) <= {"2016", "2021", "2024"}
        assert regions.NUTS_TO_ISO.get(code[:2], code[:2]) == region.country
        assert region.name.strip() == region.name and region.revisions
    assert set(EU_EEA) <= {r.country for r in listed.values()}
    assert {r.country for r in listed.values() if "2021" in r.revisions} >= set(ALLIANCE)


def test_the_codes_the_app_already_holds_are_nuts_2021_regions():
    in_2021 = {c for c, r in regions.regions().items() if "2021" in r.revisions}
    demo = {code for country in DEMO_REGIONS.values() for code in country}
    assert demo <= in_2021
    sample = Path(regions.__file__).parent / "data" / "cordis_sample" / "organization.csv"
    with sample.open(encoding="utf-8") as rows:
        nuts = {row["nutsCode"][:4] for row in csv.DictReader(rows, delimiter=";")}
    assert {n for n in nuts if n} <= set(regions.regions())  # UK partners: NUTS 2016


@pytest.mark.parametrize(
    ("code", "language", "name"),
    [
        ("PL71", "pl", "Łódzkie"),
        ("ES21", "en", "País Vasco"),
        ("FRK2", "fr", "Rhône-Alpes"),
        ("BG32", "en", "Severen tsentralen"),
        ("BG32", "bg", "Северен централен"),
        ("FR62", "en", "FR62"),  # NUTS 2013: not listed, shown as it is
    ],
)
def test_regions_are_named_in_their_national_language(code, language, name):
    assert regions.region_name(code, language) == name


def test_countries_are_named_in_the_users_language(app):
    assert regions.country_name("PL", "es") == "Polonia"
    assert regions.country_name("ES", "pl") == "Hiszpania"
    assert regions.country_name("EL", "en") == "Greece"  # the NUTS code of Greece
    with app.test_request_context(), force_locale("es"):
        assert regions.country_code("Polonia") == "PL"
        assert regions.country_code("poland") == "PL"  # English names are read too
        assert regions.country_code("España (ES)") == "ES"
        assert regions.country_code("Atlantis") is None
        assert regions.country_choices("ES")[0] == ("ES", "España (ES)")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("País Vasco", "ES21"),
        ("pais vasco", "ES21"),
        ("Łódzkie (PL71)", "PL71"),
        ("lodzkie", "PL71"),
        ("pl 71", "PL71"),
        ("Severen tsentralen", "BG32"),
        ("Северен централен", "BG32"),
        ("PAÍS", None),
        ("", None),
    ],
)
def test_a_typed_region_name_is_read_as_its_code(typed, code):
    assert regions.region_code(typed) == code


def test_the_associations_regions_come_first_in_its_order():
    choices = regions.region_choices("PL", "pl")
    polish = [label for code, label in choices[:17]]
    assert all(code.startswith("PL") for code, _ in choices[:17])
    assert not choices[17][0].startswith("PL")
    at = polish.index
    assert at("Lubuskie (PL43)") + 1 == at("Łódzkie (PL71)")
    assert at("Pomorskie (PL63)") + 1 == at("Śląskie (PL22)")


def in_spanish(text: str, **values) -> str:
    """How the Spanish secretariat reads ``text`` (the start of a message is enough)."""
    with force_locale("es"):
        return _(text, **values) if values else _(text)


@pytest.fixture
def spanish(make, session, signed_in):
    tenant = make.tenant(country="ES", name="Clústeres de España")
    user = make.user(tenant, language="es")
    return tenant, signed_in(user)


def test_the_organisation_form_chooses_places_by_name(spanish, session):
    tenant, client = spanish
    slug, tenant_id = tenant.slug, tenant.id
    page = client.get(f"/{slug}/members/new").get_data(as_text=True)
    assert '<option value="ES21">País Vasco (ES21)</option>' in page
    assert '<option value="PL">Polonia (PL)</option>' in page
    assert page.index("(ES21)") < page.index("(FR10)")  # the association's country's first
    form = {**VALID, "country": "España", "nuts2": "pais vasco", "vat_id": "", "name": "Mondragón"}
    form["registration_id"] = ""
    response = client.post(f"/{slug}/members/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with tenant_scope(tenant_id):
        org = session.scalars(select(Organisation).where(Organisation.name == "Mondragón")).one()
        assert (org.country, org.nuts2) == ("ES", "ES21")
    shown = client.get(response.location).get_data(as_text=True)
    assert "País Vasco (ES21)" in shown and "España" in shown


def test_an_unknown_region_is_a_field_error(spanish):
    tenant, client = spanish
    form = {**VALID, "country": "ES", "nuts2": "Atlantis", "vat_id": "", "registration_id": ""}
    response = client.post(f"/{tenant.slug}/members/new", data=form)
    assert response.status_code == 422
    assert in_spanish(
        "Choose a region from the list, or type its name or NUTS-2 code."
    ) in response.get_data(as_text=True)


def test_the_directory_filters_and_shows_regions_by_name(spanish, make, session):
    tenant, client = spanish
    make.org(tenant, name="Bilbao Robotics", nuts2="ES21")
    make.org(tenant, name="Madrid Labs", nuts2="ES30")
    url = f"/{tenant.slug}/members"
    for region in ("País Vasco", "pais vasco", "ES21", "ES2"):
        response = client.get(url, query_string={"region": region})
        assert names(response) == ["Bilbao Robotics"], region
    page = response.get_data(as_text=True)
    assert "País Vasco (ES21)</td>" in page
    assert '<option selected value="ES2">ES2</option>' in page or 'value="ES2" selected' in page
    unknown = client.get(url, query_string={"region": "PAÍS"}).get_data(as_text=True)
    assert (
        in_spanish("No region is called “%(name)s”: choose one from the list.", name="PAÍS")
        in unknown
    )


def test_the_partner_search_reads_places_by_name(app):
    from werkzeug.datastructures import MultiDict

    from crm.profiles.search import ProfileFilters

    with app.test_request_context(), force_locale("pl"):
        filters = ProfileFilters.from_args(MultiDict({"country": "Polska", "region": "łódzkie"}))
        assert (filters.country, filters.region) == ("PL", "PL71")
        unknown = ProfileFilters.from_args(MultiDict({"country": "Atlantyda", "region": "PAÍS"}))
        assert (unknown.country, unknown.region) == ("", "")
