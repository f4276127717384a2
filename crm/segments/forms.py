"""The segment form: its name (the filters come from the list's query arguments)."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from crm.forms import Form
from crm.models import Segment


class SegmentForm(Form):
    class Meta:
        model = Segment

    name = StringField("Name", validators=[DataRequired("Name the segment."), Length(max=120)])
