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
    currency = SelectField("Currency", choices=labelled(labelled_codes()), default=DEFAULT_CURRENCY)
    paid_on = DateField(
        "Paid on", default=date.today, validators=[DataRequired("Enter the day it was paid.")]
    )
    method = SelectField(
        "Method",
        choices=labelled(PAYMENT_METHODS, "Choose…"),
        validators=[DataRequired("Choose how it was paid.")],
    )
    reference = StringField(
        "Reference", validators=[Optional()], description="Bank reference, invoice number…"
    )
    period_from = DateField(
        "Period from", validators=[DataRequired("Enter the first day the payment covers.")]
    )
    period_to = DateField(
        "Period to", validators=[DataRequired("Enter the last day the payment covers.")]
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
