"""Organisation identifiers: PIC, VAT and registry numbers per country (python-stdnum),
LEI and ROR; through the form, the directory filter, the export and the import."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from crm import identifiers as ids
from crm.models import Organisation
from tests.members.test_validation import VALID


@pytest.mark.parametrize(
    ("value", "ok"),
    [("999999999", True), ("999 999 999", True), ("999-999-999", True), ("12345678", False),
     ("1234567890", False), ("12345678A", False), ("", True), (None, True)],
)  # fmt: skip
def test_pic(value, ok):
    assert (ids.check_pic(value) is None) is ok


# One valid and one mistyped (a changed check digit) VAT number per country.
VAT_NUMBERS = [
    ("AT", "ATU13585627", "ATU13585628"),
    ("BE", "BE0403019261", "BE0403019262"),
    ("CZ", "CZ25123891", "CZ25123892"),
    ("DE", "DE136695976", "DE136695977"),
    ("ES", "ESA13585625", "ESA13585626"),
    ("FI", "FI20774740", "FI20774741"),
    ("FR", "FR40303265045", "FR41303265045"),
    ("GR", "EL094259216", "EL094259217"),
    ("HU", "HU12892312", "HU12892313"),
    ("IT", "IT00743110157", "IT00743110158"),
    ("NL", "NL004495445B01", "NL004495446B01"),
    ("PL", "PL8567346215", "PL8567346216"),
    ("PT", "PT501964843", "PT501964844"),
    ("RO", "RO18547290", "RO18547291"),
    ("SE", "SE123456789701", "SE123456789801"),
    ("SK", "SK2022749619", "SK2022749618"),
    ("CH", "CHE-107.787.577 IVA", "CHE-107.787.578 IVA"),
    ("NO", "NO 995 525 828 MVA", "NO 995 525 829 MVA"),
    ("GB", "GB980780684", "GB980780685"),
]


@pytest.mark.parametrize(("country", "good", "bad"), VAT_NUMBERS)
def test_vat_per_country(country, good, bad):
    assert ids.check_vat_id(good, country) is None
    assert "not a valid" in ids.check_vat_id(bad, country)


def test_vat_prefix_format_and_stored_form():
    assert "starts with EL" in ids.check_vat_id("GR094259216", "GR")
    assert "starts with FR" in ids.check_vat_id("DE136695976", "FR")
    assert "country prefix" in ids.check_vat_id("40303265045", "FR")
    assert "country prefix" in ids.check_vat_id("FRABCDEF", "FR")
    # A country stdnum has no VAT module for: the prefix and the shape only.
    assert ids.check_vat_id("UA1234567890", "UA") is None
    assert ids.normalise_vat("fr 40 303 265 045") == "FR40303265045"
    assert ids.normalise_vat("CHE-107.787.577 IVA") == "CHE107787577IVA"
    assert ids.check_vat_id(None) is None and ids.check_vat_id(" ") is None


# One valid and one mistyped national registry number per country with a module.
REGISTRY_NUMBERS = [
    ("BE", "0403.019.261", "0403.019.262"),
    ("CH", "CHE-100.155.212", "CHE-100.155.213"),
    ("CZ", "25123891", "25123892"),
    ("DK", "13585628", "13585627"),
    ("EE", "12345678", "12345679"),
    ("ES", "A13585625", "A13585626"),
    ("ES", "54362315K", "54362315Z"),  # a NIF
    ("FI", "2077474-0", "2077474-1"),
    ("FR", "732 829 320", "732 829 321"),  # SIREN
    ("FR", "73282932000074", "73282932000075"),  # SIRET
    ("HR", "33392005961", "33392005962"),
    ("IT", "00743110157", "00743110158"),
    ("NO", "988 077 917", "988 077 918"),
    ("PL", "192598184", "192598185"),  # REGON
    ("PL", "856-734-62-15", "856-734-62-16"),  # NIP
    ("PT", "501 964 843", "501 964 844"),
    ("RO", "18547290", "18547291"),  # CUI
    ("SE", "1234567897", "1234567898"),
    ("SI", "9331310000", "9331311000"),
]


@pytest.mark.parametrize(("country", "good", "bad"), REGISTRY_NUMBERS)
def test_registry_number_per_country(country, good, bad):
    assert ids.check_registration_id(good, country) is None, good
    message = ids.check_registration_id(bad, country)
    assert message and country in message


def test_registry_number_without_a_module_is_kept_as_typed():
    for country in ("NL", "SK", "GB", "LT", "IE"):
        assert ids.check_registration_id("KvK 1234-5678", country) is None
        assert ids.normalise_registration_id(" KvK 1234-5678 ", country) == "KvK 1234-5678"
        assert ids.check_registration_id("!!", country) is not None
    assert ids.normalise_registration_id("732 829 320", "FR") == "732829320"
    assert ids.normalise_registration_id("2077474-0", "FI") == "20774740"
    # A Czech birth number is a valid DIČ of a person, not an IČO.
    assert ids.check_registration_id("7103192745", "CZ") is not None


def test_lei():
    assert ids.check_lei("529900T8BM49AURSDO55") is None
    assert ids.check_lei("5299 00T8 BM49 AURS DO55") is None
    assert ids.normalise_lei("5299 00t8 bm49 aurs do55") == "529900T8BM49AURSDO55"
    assert ids.check_lei("529900T8BM49AURSDO56") is not None  # check digits
    assert ids.check_lei("529900T8BM49AURSDO") is not None  # length


def test_ror():
    for value in ("03vek6s52", "https://ror.org/03vek6s52", "ror.org/03VEK6S52/"):
        assert ids.check_ror(value, "university") is None
        assert ids.normalise_ror(value) == "03vek6s52"
    assert ids.check_ror("01ggx4157", "research_org") is None
    assert "valid ROR" in ids.check_ror("03vek6s53")  # check digits
    assert "valid ROR" in ids.check_ror("13vek6s52")  # always starts with 0
    assert "valid ROR" in ids.check_ror("03vek6i52")  # i is not Crockford base 32
    assert "research organisations only" in ids.check_ror("03vek6s52", "firm")


def test_form_stores_compact_identifiers_and_shows_them(assoc):
    data = {
        **VALID,
        "registration_id": "732 829 320",
        "vat_id": "fr 40 303 265 045",
        "pic": "999 888 777",
        "lei": "529900t8bm49aursdo55",
    }
    response = assoc.client.post(f"{assoc.url}/members/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    (org,) = assoc.scalars(select(Organisation))
    assert (org.registration_id, org.vat_id, org.pic, org.lei) == (
        "732829320",
        "FR40303265045",
        "999888777",
        "529900T8BM49AURSDO55",
    )
    page = assoc.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "999888777" in page and "529900T8BM49AURSDO55" in page


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("pic", "12345", "9 digits"),
        ("lei", "529900T8BM49AURSDO56", "valid LEI"),
        ("ror", "03vek6s52", "research organisations only"),  # VALID is a firm
        ("registration_id", "732 829 321", "SIREN/SIRET"),
        ("vat_id", "FR41303265045", "not a valid FR VAT"),
    ],
)
def test_form_rejects_bad_identifiers(assoc, field, bad, message):
    response = assoc.client.post(f"{assoc.url}/members/new", data={**VALID, field: bad})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert assoc.count(Organisation) == 0


def test_a_pic_names_one_organisation(assoc, make):
    make.org(assoc.tenant, name="Holder", pic="999888777")
    response = assoc.client.post(f"{assoc.url}/members/new", data={**VALID, "pic": "999888777"})
    assert response.status_code == 422
    assert "same PIC" in response.get_data(as_text=True)  # the duplicate warning first
    data = {**VALID, "pic": "999888777", "save_anyway": "y"}
    response = assoc.client.post(f"{assoc.url}/members/new", data=data)
    assert response.status_code == 422
    assert "already recorded for Holder" in response.get_data(as_text=True)
    assert assoc.count(Organisation) == 1


def test_directory_filters_on_identifiers_and_exports_them(assoc, make):
    make.org(assoc.tenant, name="With PIC", pic="999888777", lei="529900T8BM49AURSDO55")
    make.org(assoc.tenant, name="Without PIC")
    page = assoc.client.get(f"{assoc.url}/members?identifier=pic").get_data(as_text=True)
    assert "With PIC" in page and "Without PIC" not in page
    page = assoc.client.get(f"{assoc.url}/members?identifier=no_pic").get_data(as_text=True)
    assert "Without PIC" in page and ">With PIC<" not in page
    export = assoc.client.get(f"{assoc.url}/members/export.csv?identifier=lei")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["name"], r["pic"], r["lei"]) for r in rows] == [
        ("With PIC", "999888777", "529900T8BM49AURSDO55")
    ]


@pytest.mark.parametrize(
    "typed",
    ["999 888 777", "999-888-777", "fr 40 303 265 045", "529900t8bm49aursdo55", "732 829 320"],
)
def test_the_directory_search_finds_an_organisation_by_its_identifiers(assoc, make, typed):
    make.org(
        assoc.tenant,
        name="Identified",
        pic="999888777",
        vat_id="FR40303265045",
        lei="529900T8BM49AURSDO55",
        registration_id="732829320",
    )
    make.org(assoc.tenant, name="Someone Else", pic="999888778")
    page = assoc.client.get(f"{assoc.url}/members", query_string={"q": typed})
    html = page.get_data(as_text=True)
    assert "Identified" in html and "Someone Else" not in html, typed
