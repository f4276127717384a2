"""Forms of partner requests: posting one, expressing interest, answering one."""

from __future__ import annotations

from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.forms import Form, labelled, optional_id
from crm.models.organisation import KINDS, SIZE_CLASSES
from crm.models.partner_request import REQUEST_TEXT_MAX, PartnerInterest, PartnerRequest

ME = "me"


class RequestForm(Form):
    class Meta:
        model = PartnerRequest

    organisation_id = SelectField(
        "Posted for", coerce=optional_id, choices=[], validators=[DataRequired()]
    )
    title = StringField("Title", validators=[DataRequired()])
    programme_code = SelectField("Programme", choices=[], validators=[DataRequired()])
    call_identifier = StringField("Call identifier", validators=[Optional()])
    topic = StringField("Topic", validators=[Optional()])
    deadline = DateField("Answer by", validators=[DataRequired()])
    roles_sought = StringField("Roles sought", validators=[Optional()])
    kinds = SelectMultipleField("Kinds of organisation sought", choices=labelled(KINDS))
    size_classes = SelectMultipleField("Size classes sought", choices=labelled(SIZE_CLASSES))
    ecosystems = SelectMultipleField("Industrial ecosystems", choices=[])
    countries = SelectMultipleField("Countries sought", choices=[])
    description = TextAreaField(
        "Description", validators=[DataRequired(), Length(max=REQUEST_TEXT_MAX)]
    )


class InterestForm(Form):
    class Meta:
        model = PartnerInterest

    organisation_id = SelectField(
        "On behalf of", coerce=optional_id, choices=[], validators=[DataRequired()]
    )
    contact = SelectField(
        "Contact person to share if accepted", choices=[], validators=[DataRequired()]
    )
    message = TextAreaField("Message", validators=[Optional()])


class DecisionForm(Form):
    contact = SelectField("Contact person to share", choices=[], validators=[Optional()])


class ActionForm(Form):
    """A bare POST (close a request, withdraw an interest): CSRF only."""
