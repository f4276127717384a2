"""Forms of mailings and of the renewal reminder settings."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from crm.conflicts import version_field
from crm.forms import Form, LocalIntegerField, ZonedDateTimeField, labelled
from crm.i18n import _, _l
from crm.mailings.reminders import MAX_STEP_DAYS
from crm.models.mail import PURPOSES
from crm.models.mailing import BODY_MAX, Mailing, ReminderSettings


class MailingForm(Form):
    class Meta:
        model = Mailing

    name = StringField(_l("Name (for you; recipients do not see it)"), validators=[DataRequired()])
    purpose = SelectField(
        _l("What it is for"), choices=labelled(PURPOSES), validators=[DataRequired()]
    )
    subject = StringField(_l("Subject"), validators=[DataRequired()])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=BODY_MAX)])
    version = version_field()
    version = version_field()


class ScheduleForm(Form):
    when = ZonedDateTimeField(_l("Send at"), validators=[DataRequired()])


class ActionForm(Form):
    """A bare POST (send now, send a test, cancel): CSRF only."""


def _days(value: str | None) -> list[int]:
    parts = [p for p in (value or "").replace(";", ",").replace(" ", ",").split(",") if p]
    days = []
    for part in parts:
        if not part.isdigit() or not 0 <= int(part) <= MAX_STEP_DAYS:
            raise ValidationError(
                _(
                    "Enter whole numbers of days from 0 to %(most)s, like 30, 7.",
                    most=MAX_STEP_DAYS,
                )
            )
        days.append(int(part))
    return days


class DaysField(StringField):
    """Days as a comma-separated list ("30, 7"); ``days`` holds them once validated."""

    days: list[int] = []

    def pre_validate(self, form) -> None:
        self.days = _days(self.data)


class ReminderSettingsForm(Form):
    class Meta:
        model = ReminderSettings

    enabled = BooleanField(_l("Send renewal reminders"))
    days_before = DaysField(_l("Days before the paid-until date"), validators=[Optional()])
    days_after = DaysField(_l("Days after the paid-until date"), validators=[Optional()])
    lapse_after_days = LocalIntegerField(
        _l("Lapse an unpaid membership this many days after its paid-until date"),
        validators=[Optional(), NumberRange(min=1, max=MAX_STEP_DAYS * 2)],
    )
    subject = StringField(_l("Subject"), validators=[DataRequired()])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=BODY_MAX)])
    version = version_field()
