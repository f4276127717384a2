"""Forms of the reconciliation page (Accept, Dismiss, add partners) and of the alliance
page's upload of a CORDIS export."""

from __future__ import annotations

from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Regexp

from crm.forms import Form
from crm.i18n import _l
from crm.validation import MAX_ID


class AcceptForm(Form):
    organisation_id = IntegerField(
        validators=[DataRequired(), NumberRange(1, MAX_ID)], render_kw={"hidden": True}
    )
    grant_key = HiddenField(validators=[DataRequired(), Length(max=40), Regexp(r"^[0-9A-Z]+$")])


class DismissForm(AcceptForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Say why this participation is not to be recorded.")),
            Length(max=500),
        ],
    )


class PartnersForm(Form):
    """Add a project's CORDIS consortium partners (nothing to type: the CSRF token)."""


class UploadForm(Form):
    files = MultipleFileField(
        _l("CORDIS export"),
        description=_l(
            "The zip as data.europa.eu publishes it (cordis-HORIZONprojects-csv.zip), "
            "or its project.csv and organization.csv together."
        ),
        render_kw={"accept": ".zip,.csv"},
    )
