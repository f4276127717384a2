"""Writes of renewals: recording a payment, which moves the paid-until date.

Flushes, never commits (the view commits once). Assumes the caller checked that
the user may manage the tenant's members (``STAFF``) and loaded the membership
in the tenant's scope.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from crm.conflicts import check_version
from crm.currencies import CURRENCIES
from crm.i18n import _
from crm.models import AssociationMembership, Organisation, Payment
from crm.models.membership import PAYMENT_METHODS
from crm.validation import RuleError

# Numeric(12, 2): ten digits before the point.
MAX_AMOUNT = Decimal("9999999999.99")


class RenewalError(RuleError):
    """A rule of renewals refused the change."""


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the 31st of a shorter month is its last day."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_period(membership: AssociationMembership, paid_on: date) -> tuple[date, date]:
    """The period a new payment covers by default: the membership period that
    follows the current paid-until date (so paid-until moves by exactly the
    period), or, with none recorded, the period starting on the payment's day."""
    months = membership.period_months or 12
    if membership.paid_until is not None:
        return membership.paid_until + timedelta(days=1), add_months(membership.paid_until, months)
    return paid_on, add_months(paid_on, months) - timedelta(days=1)


def parse_amount(value) -> Decimal:
    """A payment's amount: digits with at most two decimals, not negative and
    not too large. Raises ValueError with the message for the form."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise ValueError(_("Enter the amount."))
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("Enter the amount as a number, such as 250 or 250.50.")) from None
    if not amount.is_finite():
        raise ValueError(_("Enter the amount as a number, such as 250 or 250.50."))
    if amount < 0:
        raise ValueError(_("Enter an amount of zero or more; a refund is not a payment."))
    if amount > MAX_AMOUNT:
        raise ValueError(_("That amount is too large."))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("Enter at most two decimals."))
    return amount.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class PaymentFields:
    amount: Decimal
    currency: str
    paid_on: date
    method: str
    reference: str | None
    period_from: date
    period_to: date


def record_payment(
    session,
    tenant_id: int,
    org: Organisation,
    membership: AssociationMembership,
    fields: PaymentFields,
    *,
    user_id: int | None,
    version: int | None = None,
) -> Payment:
    """Record a payment of ``membership`` and move its paid-until date to the end
    of the period paid for (never backwards: a late payment of an old period
    leaves a later date as it is). ``version``: the membership's, when the form
    was opened. The status is left alone: a lapsed member who pays rejoins
    through a status change."""
    check_version(membership, version)
    if org.archived:
        raise RenewalError(_("Restore the organisation before recording a payment."))
    if fields.method not in PAYMENT_METHODS:
        raise RenewalError(_("Choose how it was paid."), "method")
    if fields.amount < 0:
        raise RenewalError(_("Enter an amount of zero or more."), "amount")
    if fields.amount == 0 and fields.method != "waived":
        raise RenewalError(_("Enter an amount above zero (or choose Waived)."), "amount")
    if fields.currency not in CURRENCIES:
        raise RenewalError(_("Choose a currency."), "currency")
    if fields.period_to < fields.period_from:
        raise RenewalError(_("The period must end on or after its first day."), "period_to")
    payment = Payment(
        tenant_id=tenant_id,
        membership_id=membership.id,
        amount=fields.amount,
        currency=fields.currency,
        paid_on=fields.paid_on,
        method=fields.method,
        reference=(fields.reference or "").strip() or None,
        period_from=fields.period_from,
        period_to=fields.period_to,
        recorded_by_id=user_id,
    )
    session.add(payment)
    if membership.paid_until is None or fields.period_to > membership.paid_until:
        membership.paid_until = fields.period_to
    session.flush()
    return payment
