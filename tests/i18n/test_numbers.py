"""Forms read numbers as the user's language writes them (``crm.forms.parse_local_number``)
and refuse the ambiguous ones with a message that says how to write them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.forms import NumberError, parse_local_number
from crm.models import Organisation
from crm.tenancy import tenant_scope
from tests.members.test_validation import VALID


@pytest.mark.parametrize(
    ("language", "text", "number"),
    [
        ("es", "8.500.000", 8_500_000),
        ("es", "8 500 000", 8_500_000),
        ("es", "1.234", 1234),  # the Spanish thousands separator
        ("es", "12,5", Decimal("12.5")),
        ("es", "1.234,5", Decimal("1234.5")),
        ("es", "12.5", Decimal("12.5")),  # a point that cannot group digits
        ("pl", "8 500 000", 8_500_000),
        ("pl", "8\u00a0500\u00a0000", 8_500_000),
        ("pl", "8.500.000", 8_500_000),
        ("pl", "1 234,5", Decimal("1234.5")),
        ("pl", "12,5", Decimal("12.5")),
        ("pl", "-3", -3),
        ("en", "8,500,000", 8_500_000),
        ("en", "8 500 000", 8_500_000),
        ("en", "1,234", 1234),
        ("en", "1,234.5", Decimal("1234.5")),
        ("en", "12.5", Decimal("12.5")),
        ("en", "  ", None),
    ],
)
def test_numbers_as_each_language_writes_them(language, text, number):
    assert parse_local_number(text, language) == number


@pytest.mark.parametrize(
    ("language", "text", "message"),
    [
        ("es", "1,234", "write 1234 for a whole number, or 1,2340 for a decimal one"),
        ("pl", "1.234", "write 1234 for a whole number, or 1,2340 for a decimal one"),
        ("pl", "1,234", "could be read two ways"),
        ("en", "1.234", "write 1234 for a whole number, or 1.2340 for a decimal one"),
        ("en", "12,5", "such as 1,234,567.5"),
        ("es", "1,234.5", "such as 1.234.567,5"),
        ("pl", "1,234.5", "such as 1\u00a0234\u00a0567,5"),
        ("pl", "1e5", "Enter a number"),
        ("pl", "12 5", "Enter a number"),
        ("en", "NaN", "Enter a number"),
    ],
)
def test_ambiguous_or_foreign_numbers_are_refused_with_a_hint(language, text, message):
    with pytest.raises(NumberError) as refused:
        parse_local_number(text, language)
    assert message in str(refused.value)


def _edit(make, session, signed_in, language: str, **numbers):
    tenant = make.tenant(country="FR")
    user = make.user(tenant, language=language)
    org = make.org(tenant, name="Growing")
    tenant_id, org_id = tenant.id, org.id
    client = signed_in(user)
    response = client.post(
        f"/{tenant.slug}/members/{org_id}/edit", data={**VALID, "name": "Growing", **numbers}
    )
    with tenant_scope(tenant_id):
        session.expire_all()
        org = session.scalars(select(Organisation).where(Organisation.id == org_id)).one()
    return response, org


@pytest.mark.parametrize(
    ("language", "employees", "turnover"),
    [("es", "1.250", "8.500.000"), ("pl", "1 250", "8 500 000,00"), ("en", "1,250", "8,500,000")],
)
def test_the_organisation_form_reads_the_users_numbers(
    make, session, signed_in, language, employees, turnover
):
    response, org = _edit(
        make, session, signed_in, language, employees=employees, turnover_eur=turnover
    )
    assert response.status_code == 302
    assert (org.employees, org.turnover_eur) == (1250, 8_500_000)


def test_an_ambiguous_number_is_refused_beside_its_field(make, session, signed_in):
    response, org = _edit(make, session, signed_in, "pl", employees="1.250")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "1.250" in page and "1250" in page  # the value kept, the way to write it
    assert org.employees is None
    assert 'inputmode="decimal"' in page and 'type="number"' not in page
