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
from crm.tenancy import tenant_scope
from tests.accounts.support import tenant_events


def _form(version: int, **changes) -> dict:
    data = {
        "amount": "250.00",
        "currency": "EUR",
        "paid_on": "2026-11-20",
        "method": "transfer",
        "reference": "INV-2026-17",
        "period_from": "2027-01-01",
        "period_to": "2027-12-31",
        "version": str(version),
    }
    data.update(changes)
    return data


# Objects are expired after each request, and on PostgreSQL RLS hides their rows
# outside the tenant's scope: the tests keep plain ids and read rows back in scope.
@pytest.fixture
def member(assoc, make):
    """(organisation id, membership id, membership version) of an active member
    paid until 2026-12-31."""
    org = make.org(assoc.tenant, name="Renewing Firm")
    membership = make.membership(org, status="active", paid_until=date(2026, 12, 31))
    return org.id, membership.id, membership.version


def _membership(assoc, membership_id: int) -> tuple:
    (m,) = assoc.scalars(
        select(AssociationMembership).where(AssociationMembership.id == membership_id)
    )
    return m.paid_until, m.version, m.fee_amount, m.fee_currency, m.period_months


def _state(assoc, membership_id: int) -> tuple:
    """How many payments, and the membership's paid-until date and version."""
    return len(assoc.scalars(select(Payment))), *_membership(assoc, membership_id)[:2]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-50"}, "amount", "zero or more"),
        ({"amount": "abc"}, "amount", "Enter a number"),
        ({"amount": "12,50"}, "amount", "such as 1,234,567.5"),  # an English user
        ({"amount": "NaN"}, "amount", "Enter a number"),
        ({"amount": "1.234"}, "amount", "could be read two ways"),
        ({"amount": "1.2345"}, "amount", "at most 2 decimals"),
        ({"amount": "1000000000000"}, "amount", "too large"),
        ({"amount": ""}, "amount", "Enter the amount"),
        ({"amount": "0"}, "amount", "above zero"),
        ({"currency": "XXX"}, "currency", "Not a valid choice"),
        ({"method": "cheque"}, "method", "Not a valid choice"),
        ({"period_to": "2026-12-01"}, "period_to", "on or after"),
        ({"paid_on": "yesterday"}, "paid_on", "Enter the day it was paid"),
    ],
)
def test_bad_payments_are_field_errors_and_write_nothing(assoc, member, changes, field, message):
    org_id, membership_id, version = member
    before = _state(assoc, membership_id)
    response = assoc.client.post(
        f"{assoc.url}/members/{org_id}/renew", data=_form(version, **changes)
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = html[html.index(f'id="{field}-error"') :]
    assert message in error[: error.index("</small>")]
    assert _state(assoc, membership_id) == before  # no payment, paid-until and version as they were


def test_renew_form_proposes_the_next_period(assoc, member):
    org_id, _, _ = member
    html = assoc.client.get(f"{assoc.url}/members/{org_id}/renew").get_data(as_text=True)
    assert 'value="2027-01-01"' in html and 'value="2027-12-31"' in html


def test_a_payment_moves_paid_until_by_the_period_and_is_audited(assoc, member, session):
    org_id, membership_id, version = member
    response = assoc.client.post(f"{assoc.url}/members/{org_id}/renew", data=_form(version))
    assert response.status_code == 302 and response.headers["Location"].endswith("#payments")
    count, paid_until, _version = _state(assoc, membership_id)
    assert count == 1
    assert paid_until == add_months(date(2026, 12, 31), 12) == date(2027, 12, 31)
    (payment,) = assoc.scalars(select(Payment))
    assert (payment.amount, payment.currency, payment.method, payment.recorded_by_id) == (
        Decimal("250.00"),
        "EUR",
        "transfer",
        assoc.user.id,
    )
    events = tenant_events(
        session,
        assoc.tenant.id,
        AuditEvent.entity_type.in_(("payments", "association_memberships")),
    )
    assert {(e.entity_type, e.action) for e in events} >= {
        ("payments", "create"),
        ("association_memberships", "update"),
    }
    page = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    assert "€250.00" in page and "INV-2026-17" in page and 'id="paid-until">Dec 31, 2027' in page


def test_the_period_follows_the_membership_terms(assoc, member):
    org_id, membership_id, version = member
    saved = assoc.client.post(
        f"{assoc.url}/members/{org_id}/terms",
        data={
            "fee_tier": "reduced",
            "fee_amount": "1 200",
            "fee_currency": "PLN",
            "period_months": "6",
            "paid_until": "2026-08-31",
            "version": str(version),
        },
    )
    assert saved.status_code == 302
    paid_until, version, fee, currency, months = _membership(assoc, membership_id)
    assert (paid_until, fee, currency, months) == (date(2026, 8, 31), Decimal("1200.00"), "PLN", 6)
    html = assoc.client.get(f"{assoc.url}/members/{org_id}/renew").get_data(as_text=True)
    # 31 August + 6 months: the last day of February.
    assert 'value="2026-09-01"' in html and 'value="2027-02-28"' in html
    assert 'value="1,200.00"' in html and '<option selected value="PLN">' in html
    form = _form(
        version, currency="PLN", amount="1200", period_from="2026-09-01", period_to="2027-02-28"
    )
    assert assoc.client.post(f"{assoc.url}/members/{org_id}/renew", data=form).status_code == 302
    assert _state(assoc, membership_id)[1] == date(2027, 2, 28)
    bad = assoc.client.post(
        f"{assoc.url}/members/{org_id}/terms",
        data={"period_months": "0", "fee_amount": "-3", "fee_currency": "EUR"},
    )
    assert bad.status_code == 422


def test_waived_may_be_zero_and_an_old_period_never_moves_paid_until_back(assoc, member):
    org_id, membership_id, version = member
    waived = _form(version, amount="0", method="waived", reference="")
    assert assoc.client.post(f"{assoc.url}/members/{org_id}/renew", data=waived).status_code == 302
    version = _membership(assoc, membership_id)[1]
    late = _form(version, period_from="2025-01-01", period_to="2025-12-31", paid_on="2026-12-01")
    assert assoc.client.post(f"{assoc.url}/members/{org_id}/renew", data=late).status_code == 302
    count, paid_until, _ = _state(assoc, membership_id)
    assert count == 2 and paid_until == date(2027, 12, 31)


def test_no_membership_means_no_renew_and_a_stale_form_is_a_conflict(assoc, make, member):
    bare_id = make.org(assoc.tenant).id
    response = assoc.client.get(f"{assoc.url}/members/{bare_id}/renew")
    assert response.status_code == 302 and response.headers["Location"].endswith("/status")
    org_id, membership_id, version = member
    stale = _form(version - 1)
    assert assoc.client.post(f"{assoc.url}/members/{org_id}/renew", data=stale).status_code == 409
    assert _state(assoc, membership_id)[0] == 0


def test_payments_are_listed_and_exported(assoc, make, session, member):
    org_id, membership_id, _ = member
    with tenant_scope(assoc.tenant.id):
        membership = session.get(AssociationMembership, membership_id)
    old_id = make.payment(
        membership, "300.00", paid_on=date(2025, 1, 10), reference="=HYPERLINK()"
    ).id
    make.payment(membership, "310.00", paid_on=date(2026, 1, 12))
    other = make.membership(make.org(assoc.tenant, name="Other Payer"), paid_until=None)
    make.payment(other, "99.90", paid_on=date(2026, 3, 1), currency="CZK")
    rows = _csv(assoc.client.get(f"{assoc.url}/members/{org_id}/payments.csv"))
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
    page = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    assert "€310.00" in page and "€300.00" in page and "99.90" not in page
    detail = assoc.client.get(f"{assoc.url}/payments/{old_id}").get_data(as_text=True)
    assert "€300.00" in detail and "Renewing Firm" in detail


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_add_months_keeps_the_day_or_the_months_last():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)
    assert add_months(date(2026, 3, 1), 12) - timedelta(days=1) == date(2027, 2, 28)
