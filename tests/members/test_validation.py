"""Each field rule, as a plain function (shared with imports) and through the form."""

from __future__ import annotations

import pytest

from crm import validation as v
from crm.models import Organisation


@pytest.mark.parametrize(
    ("code", "country", "ok"),
    [
        ("FR10", "FR", True),
        ("ES51", "ES", True),
        ("PL91", "PL", True),
        ("CZ01", "CZ", True),
        ("EL30", "GR", True),  # Greece is EL in NUTS
        ("fr 10", "FR", True),  # normalised
        ("GR30", "GR", False),
        ("ES51", "FR", False),  # another country's region
        ("FR1", "FR", False),  # NUTS-1 is not NUTS-2
        ("FR101", "FR", False),  # NUTS-3 neither
        ("F10", None, False),
        ("", "FR", True),  # blank: optional
        (None, "FR", True),
    ],
)
def test_nuts2_format_and_country(code, country, ok):
    assert (v.check_nuts2(code, country) is None) is ok


def test_nuts2_message_names_the_expected_prefix():
    assert "starts with EL" in v.check_nuts2("GR30", "GR")
    assert "starts with FR" in v.check_nuts2("ES51", "FR")


@pytest.mark.parametrize(
    ("vat", "country", "ok"),
    [
        ("FR40303265045", "FR", True),
        ("ESA13585625", "ES", True),
        ("PL 856-734-62-15", "PL", True),
        ("EL094259216", "GR", True),
        ("FR12345678901", "FR", False),  # wrong check digits (python-stdnum)
        ("DE123456789", "FR", False),
        ("12345678", None, False),
        ("FRABCDEF", "FR", False),  # no digits
        ("X", None, False),
    ],
)
def test_vat_id(vat, country, ok):
    assert (v.check_vat_id(vat, country) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("B-12345678", True),
        ("552 100 554", True),
        ("KRS 0000123456", True),
        ("!!", False),
        ("ABCDEF", False),
    ],
)
def test_registration_id(value, ok):
    assert (v.check_registration_id(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("ana@example.org", True),
        ("a.b+c@sub.example.eu", True),
        ("ana@", False),
        ("ana example.org", False),
        ("@example.org", False),
    ],
)
def test_email(value, ok):
    assert (v.check_email(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://example.org", True),
        ("http://a.example.eu/path?x=1", True),
        ("example.org", True),  # stored as https://example.org (normalise_url)
        ("www.example.es/about", True),
        ("example", False),
        ("ftp://example.org", False),
        ("https://", False),
        ("javascript:alert(1)", False),
    ],
)
def test_url(value, ok):
    assert (v.check_url(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "integer", "ok"),
    [
        ("0", True, True),
        ("12", True, True),
        ("1 000", True, True),
        (5, True, True),
        ("-1", True, False),
        ("1.5", True, False),
        ("abc", False, False),
        ("2.5", False, True),
        ("nan", False, False),
        ("-0.1", False, False),
    ],
)
def test_non_negative_numbers(value, integer, ok):
    assert (v.check_non_negative(value, integer=integer) is None) is ok


def test_year_and_nace_and_country():
    assert v.check_year("1999") is None and v.check_year("1200") is not None
    assert v.check_nace("26.11") is None and v.check_nace("C") is None
    assert v.check_nace("Z9") is not None
    assert v.check_country("fr") is None and v.check_country("FRA") is not None


def test_not_own_member():
    assert v.check_not_own_member(3, 3) is not None
    assert v.check_not_own_member(3, 4) is None


def test_organisation_errors_lists_every_bad_field():
    errors = v.organisation_errors(
        {
            "kind": "spaceship",
            "name": " ",
            "country": "FR",
            "nuts2": "ES51",
            "employees": "-2",
            "website": "nope",
            "vat_id": "DE123456789",
        }
    )
    assert set(errors) == {"kind", "name", "nuts2", "employees", "website", "vat_id"}
    assert v.organisation_errors({"kind": "firm", "name": "Acme", "country": "FR"}) == {}


VALID = {
    "kind": "firm",
    "name": "Acme Robotics",
    "country": "FR",
    "nuts2": "FR10",
    "city": "Paris",
    "registration_id": "552 100 554",
    "vat_id": "FR96552100554",
    "website": "https://acme.example.org",
    "employees": "12",
    "turnover_eur": "3000000",
    "balance_sheet_eur": "1500000",
}


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("nuts2", "ES51", "starts with FR"),
        ("nuts2", "F1", "NUTS-2 code"),
        ("vat_id", "DE123456789", "starts with FR"),
        ("registration_id", "!!", "registration number"),
        ("website", "acme example org", "web address"),
        ("employees", "-3", "zero or a positive"),
        ("employees", "1.5", "whole number"),
        ("turnover_eur", "lots", "Enter a number"),
        ("country", "Atlantis", "two-letter"),
        ("name", "", "organisation&#39;s name"),
        ("kind", "", "Choose the kind"),
        ("founded_year", "99999", "year between"),
    ],
)
def test_form_rerenders_with_the_field_error_and_saves_nothing(assoc, field, bad, message):
    assert assoc.count(Organisation) == 0
    response = assoc.client.post(f"{assoc.url}/members/new", data={**VALID, field: bad})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="{field}-error"' in html  # inline, tied to the field
    assert 'aria-invalid="true"' in html
    assert assoc.count(Organisation) == 0
    fixed = assoc.client.post(f"{assoc.url}/members/new", data=VALID)
    assert fixed.status_code == 302
    assert assoc.count(Organisation) == 1
