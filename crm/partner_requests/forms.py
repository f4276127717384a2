"""Forms of partner requests: posting one, expressing interest, answering one."""

from __future__ import annotations

from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.forms import Form, labelled, optional_id
from crm.i18n import _l
from crm.models.organisation import KINDS, SIZE_CLASSES
from crm.models.partner_request import REQUEST_TEXT_MAX, PartnerInterest, PartnerRequest

ME = "me"


class RequestForm(Form):
    class Meta:
        model = PartnerRequest

    organisation_id = SelectField(
        _l("Posted for"), coerce=optional_id, choices=[], validators=[DataRequired()]
    )
    title = StringField(_l("Title"), validators=[DataRequired()])
    programme_code = SelectField(_l("Programme"), choices=[], validators=[DataRequired()])
    call_identifier = StringField(_l("Call identifier"), validators=[Optional()])
    topic = StringField(_l("Topic"), validators=[Optional()])
    deadline = DateField(_l("Answer by"), validators=[DataRequired()])
    roles_sought = StringField(_l("Roles sought"), validators=[Optional()])
    kinds = SelectMultipleField(_l("Kinds of organisation sought"), choices=labelled(KINDS))
    size_classes = SelectMultipleField(_l("Size classes sought"), choices=labelled(SIZE_CLASSES))
    ecosystems = SelectMultipleField(_l("Industrial ecosystems"), choices=[])
    countries = SelectMultipleField(_l("Countries sought"), choices=[])
    description = TextAreaField(
        _l("Description"), validators=[DataRequired(), Length(max=REQUEST_TEXT_MAX)]
    )


class InterestForm(Form):
    class Meta:
        model = PartnerInterest

    organisation_id = SelectField(
        _l("On behalf of"), coerce=optional_id, choices=[], validators=[DataRequired()]
    )
    contact = SelectField(
        _l("Contact person to share if accepted"), choices=[], validators=[DataRequired()]
    )
    message = TextAreaField(_l("Message"), validators=[Optional()])


class DecisionForm(Form):
    contact = SelectField(_l("Contact person to share"), choices=[], validators=[Optional()])


class ActionForm(Form):
    """A bare POST (close a request, withdraw an interest): CSRF only."""
