"""The tag form: a name (a new tag, a new name, or a tag to put on a record)."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from crm.forms import Form
from crm.i18n import _l
from crm.models import Tag


class TagForm(Form):
    class Meta:
        model = Tag

    name = StringField(_l("Tag"), validators=[DataRequired(_l("Name the tag.")), Length(max=60)])
