"""Forms of the partner profiles: what is published, and adding a suggestion."""

from __future__ import annotations

from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.choices import PARTICIPATION_ROLES
from crm.forms import Form, labelled
from crm.i18n import _l
from crm.profiles.services import CAPABILITIES_MAX, KEYWORDS_MAX


class PublishForm(Form):
    capabilities = TextAreaField(
        _l("What the organisation offers to partners"),
        validators=[Optional(), Length(max=CAPABILITIES_MAX)],
    )
    keywords = StringField(
        _l("Keywords (comma separated)"), validators=[Optional(), Length(max=KEYWORDS_MAX)]
    )


class AddSuggestionForm(Form):
    profile_id = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
    role = SelectField(
        _l("Role"),
        choices=labelled(PARTICIPATION_ROLES),
        default="partner",
        validators=[DataRequired()],
    )
