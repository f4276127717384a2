"""Renew: a payment with its field errors (422, nothing written), the paid-until
date moved by the membership period, the payments listed, exported, audited."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.models import AssociationMembership, AuditEvent, Payment
from crm.renewals.services import add_months
from tests.accounts.support import tenant_events


def _form(membership, **changes) -> dict:
    data = {
        "amount": "250.00",
        "currency": "EUR",
        "paid_on": "2026-11-20",
        "method": "transfer",
        "reference": "INV-2026-17",
        "period_from": "2027-01-01",
        "period_to": "2027-12-31",
        "version": str(membership.version),
    }
    data.update(changes)
    return data


@pytest.fixture
def member(assoc, make):
    org = make.org(assoc.tenant, name="Renewing Firm")
    membership = make.membership(org, status="active", paid_until=date(2026, 12, 31))
    return org, membership


def _state(assoc, membership):
    payments = assoc.scalars(select(Payment))
    current = assoc.scalars(
        select(AssociationMembership).where(AssociationMembership.id == membership.id)
    )[0]
    return len(payments), current.paid_until, current.version


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-50"}, "amount", "zero or more"),
        ({"amount": "abc"}, "amount", "as a number"),
        ({"amount": "12,50"}, "amount", "as a number"),
        ({"amount": "NaN"}, "amount", "as a number"),
        ({"amount": "1.234"}, "amount", "two decimals"),
        ({"amount": "1e12"}, "amount", "too large"),
        ({"amount": ""}, "amount", "Enter the amount"),
        ({"amount": "0"}, "amount", "above zero"),
        ({"currency": "XXX"}, "currency", "Not a valid choice"),
        ({"method": "cheque"}, "method", "Not a valid choice"),
        ({"period_to": "2026-12-01"}, "period_to", "on or after"),
        ({"paid_on": "yesterday"}, "paid_on", "Enter the day it was paid"),
    ],
)
def test_bad_payments_are_field_errors_and_write_nothing(assoc, member, changes, field, message):
    org, membership = member
    before = _state(assoc, membership)
    response = assoc.client.post(
        f"{assoc.url}/members/{org.id}/renew", data=_form(membership, **changes)
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = html[html.index(f'id="{field}-error"') :]
    assert message in error[: error.index("</small>")]
    assert _state(assoc, membership) == before  # no payment, paid-until and version as they were


def test_renew_form_proposes_the_next_period(assoc, member):
    org, membership = member
    html = assoc.client.get(f"{assoc.url}/members/{org.id}/renew").get_data(as_text=True)
    assert 'value="2027-01-01"' in html and 'value="2027-12-31"' in html


def test_a_payment_moves_paid_until_by_the_period_and_is_audited(assoc, member, session):
    org, membership = member
    response = assoc.client.post(f"{assoc.url}/members/{org.id}/renew", data=_form(membership))
    assert response.status_code == 302 and response.headers["Location"].endswith("#payments")
    count, paid_until, _version = _state(assoc, membership)
    assert count == 1
    assert paid_until == add_months(date(2026, 12, 31), 12) == date(2027, 12, 31)
    (payment,) = assoc.scalars(select(Payment))
    assert (payment.amount, payment.currency, payment.method) == (
        Decimal("250.00"),
        "EUR",
        "transfer",
    )
    assert payment.recorded_by_id == assoc.user.id
    events = tenant_events(
        session,
        assoc.tenant.id,
        AuditEvent.entity_type.in_(("payments", "association_memberships")),
    )
    assert {(e.entity_type, e.action) for e in events} >= {
        ("payments", "create"),
        ("association_memberships", "update"),
    }
    page = assoc.client.get(f"{assoc.url}/members/{org.id}").get_data(as_text=True)
    assert "250.00 EUR" in page and "INV-2026-17" in page and 'id="paid-until">2027-12-31' in page


def test_the_period_follows_the_membership_terms(assoc, member):
    org, membership = member
    saved = assoc.client.post(
        f"{assoc.url}/members/{org.id}/terms",
        data={
            "fee_tier": "reduced",
            "fee_amount": "1 200",
            "fee_currency": "PLN",
            "period_months": "6",
            "paid_until": "2026-08-31",
            "version": str(membership.version),
        },
    )
    assert saved.status_code == 302
    current = assoc.scalars(select(AssociationMembership))[0]
    assert (current.fee_amount, current.fee_currency, current.period_months) == (
        Decimal("1200.00"),
        "PLN",
        6,
    )
    html = assoc.client.get(f"{assoc.url}/members/{org.id}/renew").get_data(as_text=True)
    # 31 August + 6 months: the last day of February.
    assert 'value="2026-09-01"' in html and 'value="2027-02-28"' in html
    assert 'value="1200.00"' in html and '<option selected value="PLN">' in html
    form = _form(
        current, currency="PLN", amount="1200", period_from="2026-09-01", period_to="2027-02-28"
    )
    assert assoc.client.post(f"{assoc.url}/members/{org.id}/renew", data=form).status_code == 302
    assert _state(assoc, current)[1] == date(2027, 2, 28)
    bad = assoc.client.post(
        f"{assoc.url}/members/{org.id}/terms",
        data={"period_months": "0", "fee_amount": "-3", "fee_currency": "EUR"},
    )
    assert bad.status_code == 422


def test_waived_may_be_zero_and_an_old_period_never_moves_paid_until_back(assoc, member):
    org, membership = member
    waived = _form(membership, amount="0", method="waived", reference="")
    assert assoc.client.post(f"{assoc.url}/members/{org.id}/renew", data=waived).status_code == 302
    current = assoc.scalars(select(AssociationMembership))[0]
    late = _form(current, period_from="2025-01-01", period_to="2025-12-31", paid_on="2026-12-01")
    assert assoc.client.post(f"{assoc.url}/members/{org.id}/renew", data=late).status_code == 302
    count, paid_until, _ = _state(assoc, membership)
    assert count == 2 and paid_until == date(2027, 12, 31)


def test_no_membership_means_no_renew_and_a_stale_form_is_a_conflict(assoc, make, member):
    bare = make.org(assoc.tenant)
    response = assoc.client.get(f"{assoc.url}/members/{bare.id}/renew")
    assert response.status_code == 302 and response.headers["Location"].endswith("/status")
    org, membership = member
    stale = _form(membership, version=str(membership.version - 1))
    assert assoc.client.post(f"{assoc.url}/members/{org.id}/renew", data=stale).status_code == 409
    assert _state(assoc, membership)[0] == 0


def test_payments_are_listed_and_exported(assoc, make, member):
    org, membership = member
    make.payment(membership, "300.00", paid_on=date(2025, 1, 10), reference="=HYPERLINK()")
    make.payment(membership, "310.00", paid_on=date(2026, 1, 12))
    other = make.membership(make.org(assoc.tenant, name="Other Payer"), paid_until=None)
    make.payment(other, "99.90", paid_on=date(2026, 3, 1), currency="CZK")
    rows = _csv(assoc.client.get(f"{assoc.url}/members/{org.id}/payments.csv"))
    assert [(r["paid_on"], r["amount"], r["reference"]) for r in rows] == [
        ("2026-01-12", "310.0", ""),
        ("2025-01-10", "300.0", "'=HYPERLINK()"),
    ]
    year = _csv(assoc.client.get(f"{assoc.url}/payments/export.csv?year=2026"))
    assert [(r["organisation"], r["amount"], r["currency"]) for r in year] == [
        ("Other Payer", "99.9", "CZK"),
        ("Renewing Firm", "310.0", "EUR"),
    ]
    everything = assoc.client.get(f"{assoc.url}/payments/export.xlsx")
    sheet = list(load_workbook(io.BytesIO(everything.data)).active.values)
    assert sheet[0][0] == "payment_id" and len(sheet) == 4
    page = assoc.client.get(f"{assoc.url}/members/{org.id}").get_data(as_text=True)
    assert "310.00 EUR" in page and "300.00 EUR" in page and "99.90" not in page
    (first,) = assoc.scalars(select(Payment).where(Payment.paid_on == date(2025, 1, 10)))
    detail = assoc.client.get(f"{assoc.url}/payments/{first.id}").get_data(as_text=True)
    assert "300.00 EUR" in detail and "Renewing Firm" in detail


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_add_months_keeps_the_day_or_the_months_last():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)
    assert add_months(date(2026, 3, 1), 12) - timedelta(days=1) == date(2027, 2, 28)
