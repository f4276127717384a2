"""The small form that adds a note, call or meeting to a timeline."""

from __future__ import annotations

from datetime import UTC, datetime

from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.forms import Form, ZonedDateTimeField, labelled, optional_id
from crm.i18n import _l
from crm.models import Activity
from crm.models.activity import ACTIVITY_KINDS


def _now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


class ActivityForm(Form):
    class Meta:
        model = Activity

    kind = SelectField(_l("Kind"), choices=labelled(ACTIVITY_KINDS), default="note")
    subject = StringField(
        _l("Subject"), validators=[DataRequired(_l("Say what it was about.")), Length(max=200)]
    )
    body = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20_000)])
    occurred_at = ZonedDateTimeField(
        _l("When"),
        default=_now,
        validators=[DataRequired(_l("Enter when it happened."))],
    )
    contact_id = SelectField(_l("With"), coerce=optional_id, choices=[], validate_choice=False)

    def offer_contacts(self, contacts) -> None:
        """The organisation's contacts (already loaded for the page), erased ones left out."""
        self.contact_id.choices = [("", "—")] + [
            (c.id, c.full_name) for c in contacts if c.erased_at is None
        ]

    def occurred_at_utc(self) -> datetime:
        return self.occurred_at.data
