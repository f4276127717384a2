"""The segment form: its name (the filters come from the list's query arguments)."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from crm.forms import Form
from crm.i18n import _l
from crm.models import Segment


class SegmentForm(Form):
    class Meta:
        model = Segment

    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Name the segment.")), Length(max=120)]
    )
