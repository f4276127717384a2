"""The payment form ("Renew")."""

from __future__ import annotations

from datetime import date

from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Optional, StopValidation

from crm.conflicts import version_field
from crm.currencies import DEFAULT_CURRENCY, labelled_codes
from crm.forms import Form, LocalDecimalField, labelled
from crm.i18n import _l
from crm.models import Payment
from crm.models.membership import PAYMENT_METHODS
from crm.renewals.services import PaymentFields, parse_amount


def amount_rule(form, field) -> None:
    if field.process_errors:  # not read as a number: that message alone
        raise StopValidation()
    try:
        field.amount = parse_amount("" if field.data is None else field.data)
    except ValueError as error:
        raise StopValidation(str(error)) from None


class PaymentForm(Form):
    class Meta:
        model = Payment

    amount = LocalDecimalField(
        _l("Amount"),
        places=2,
        validators=[amount_rule],
        description=_l("As you write amounts, such as 1 250 or 250,50."),
    )
    currency = SelectField(
        _l("Currency"), choices=labelled(labelled_codes()), default=DEFAULT_CURRENCY
    )
    paid_on = DateField(
        _l("Paid on"),
        default=date.today,
        validators=[DataRequired(_l("Enter the day it was paid."))],
    )
    method = SelectField(
        _l("Method"),
        choices=labelled(PAYMENT_METHODS, _l("Choose…")),
        validators=[DataRequired(_l("Choose how it was paid."))],
    )
    reference = StringField(
        _l("Reference"),
        validators=[Optional()],
        description=_l("Bank reference, invoice number…"),
    )
    period_from = DateField(
        _l("Period from"), validators=[DataRequired(_l("Enter the first day the payment covers."))]
    )
    period_to = DateField(
        _l("Period to"), validators=[DataRequired(_l("Enter the last day the payment covers."))]
    )
    version = version_field()

    def fields(self) -> PaymentFields:
        return PaymentFields(
            amount=self.amount.amount,
            currency=self.currency.data,
            paid_on=self.paid_on.data,
            method=self.method.data,
            reference=self.reference.data,
            period_from=self.period_from.data,
            period_to=self.period_to.data,
        )
