"""What every form shares: ``Form``, the base that refuses what no field may
hold (control characters, text longer than its column, dates outside
1900-2100, integers outside the columns' range); and for the views, one
commit when the change is saved, each refusal beside its field, 422 while a
form shows errors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC
from decimal import Decimal

from flask import flash, render_template
from flask_babel import to_user_timezone, to_utc
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import Numeric, inspect
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import FileStorage
from wtforms import (
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, StopValidation
from wtforms.widgets import Select

from crm.conflicts import Conflict, EditConflict, merge
from crm.extensions import db
from crm.i18n import _, _l
from crm.validation import MAX_ID, RuleError, bounded_int, check_date, check_text


class Form(FlaskForm):
    """The base of every form of the app. Each field, whatever its class, gets
    the checks below when it is bound, so no form can forget one:

    * no control characters (tab and newlines allowed in a ``TextAreaField``),
      in any submitted value and in an uploaded file's name;
    * a text field named like a column of ``Meta.model`` is at most the
      column's length, a decimal field within the column's precision;
    * dates between 1900 and 2100; integers, and ids chosen in a select,
      within the integer columns' range.
    """

    class Meta:
        model = None  # the model whose columns the fields fill, by name

        def bind_field(self, form, unbound_field, options):
            kwargs = unbound_field.kwargs
            validators = list(kwargs.get("validators") or _positional_validators(unbound_field))
            field_class = unbound_field.field_class
            extra = {"validators": [no_control_characters, *validators, *_bounds(field_class)]}
            extra["validators"] += _column_bounds(self.model, options["name"], field_class)
            if kwargs.get("coerce") is int:
                extra["coerce"] = bounded_int
            return unbound_field.bind(form=form, **options, **extra)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # A lazy message (``_l``) counts as markup and would reach the page
        # unescaped; as a plain string it is escaped like any other text.
        for field in self._fields.values():
            if isinstance(field.errors, list | tuple):
                field.errors = [str(e) if isinstance(e, LazyString) else e for e in field.errors]
        return valid


def _positional_validators(unbound_field) -> list:
    args = unbound_field.args
    return args[1] if len(args) > 1 and isinstance(args[1], list | tuple) else []


def no_control_characters(form, field) -> None:
    multiline = isinstance(field, TextAreaField)
    for value in field.raw_data or ():
        text = value.filename if isinstance(value, FileStorage) else value
        message = check_text(text, multiline=multiline)
        if message:
            if isinstance(value, FileStorage):
                message = _("Rename the file: its name holds control characters.")
            raise StopValidation(message)


def _check(rule):
    def validator(form, field):
        message = rule(field.data)
        if message:
            raise StopValidation(message)

    return validator


def _in_range(value) -> str | None:
    if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
        return _(
            "Enter a number between %(low)s and %(high)s.", low=f"{-MAX_ID:,}", high=f"{MAX_ID:,}"
        )
    return None


def _bounds(field_class) -> list:
    if issubclass(field_class, DateField):
        return [_check(check_date)]
    if issubclass(field_class, IntegerField):
        return [_check(_in_range)]
    return []


def column_length(column) -> Length:
    """``Length(max=...)`` of a string column, for a field named otherwise:
    ``admin_name = StringField(..., validators=[column_length(User.name)])``."""
    return Length(max=column.property.columns[0].type.length)


def _column_bounds(model, name: str, field_class) -> list:
    column = inspect(model).columns.get(name) if model is not None else None
    if column is None:
        return []
    if issubclass(field_class, StringField) and getattr(column.type, "length", None):
        return [Length(max=column.type.length)]
    if issubclass(field_class, DecimalField) and isinstance(column.type, Numeric):
        largest = Decimal(10) ** (column.type.precision - column.type.scale) - 1
        return [NumberRange(-largest, largest, message=_l("That amount is too large."))]
    return []


class Saved:
    """True once the ``saving`` block's change is committed; ``conflict`` when
    it was refused because the record changed since the form was opened."""

    ok = False
    conflict: Conflict | None = None

    def __bool__(self) -> bool:
        return self.ok


@contextmanager
def saving(form=None, rename: dict[str, str] | None = None, editing=None) -> Iterator[Saved]:
    """Commit what the block changed. If a service raises ``RuleError``, roll
    the whole change back and show the messages on ``form`` (``rename`` maps a
    service's field name to the form's); the view then renders the form again.

        with saving(form) as saved:
            org = services.create_organisation(...)
        if saved:
            return redirect(...)

    ``editing``: the versioned record the form edits. A save from a form opened
    at an older version (``EditConflict``), or one that lost the race to
    another save (``StaleDataError`` at the UPDATE), rolls back too and merges
    the current values into ``form``: ``render_form`` then shows the conflict (409).
    """
    saved = Saved()
    try:
        yield saved
    except RuleError as error:
        db.session.rollback()
        show_errors(form, error, rename or {})
    except (EditConflict, StaleDataError):
        db.session.rollback()
        if editing is None or form is None:
            raise
        saved.conflict = form.conflict = merge(form, editing)
    else:
        db.session.commit()
        saved.ok = True


def show_errors(form, error: RuleError, rename: dict[str, str]) -> None:
    """Each message beside its field; those for no field of the form are flashed."""
    for name, messages in error.errors.items():
        name = rename.get(name, name)
        field = form[name] if form is not None and name and name in form else None
        if field is None:
            flash(" ".join(messages), "error")
        else:
            field.errors = [*field.errors, *messages]


def render_form(template: str, form, **context):
    conflict = getattr(form, "conflict", None)
    if conflict is not None:
        return render_template(template, form=form, conflict=conflict, **context), 409
    return render_template(template, form=form, **context), (422 if form.errors else 200)


# -- choice helpers shared by the areas' forms ----------------------------------


class ZonedDateTimeField(DateTimeLocalField):
    """A moment typed and shown in the association's time zone, as the pages show
    times; ``data`` is UTC (aware). A naive ``data`` (a default) is taken as UTC."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%dT%H:%M")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = to_utc(self.data).replace(tzinfo=UTC)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        if self.data is None:
            return ""
        return to_user_timezone(self.data).strftime(self.strptime_format[0])


class QuickSelect(Select):
    """WTForms' select, its options written directly: the same HTML, without
    ``html_params`` per option (about 10 µs each, and a list filter offers every
    cluster of the association)."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if choice.render_kw or kwargs:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""
        label = escape(str(choice.label))  # str(): a lazy label would pass as markup
        return Markup(f'<option {selected}value="{escape(value)}">{label}</option>')


def select_choices(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """``(value, label)`` pairs (``crm.choices``) as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def labelled(labels: dict, blank: str | None = None) -> list[SelectChoice]:
    """A ``{value: label}`` dict as choices, after an empty one labelled ``blank``."""
    head = [SelectChoice("", blank)] if blank is not None else []
    return [*head, *select_choices(labels.items())]


def optional_id(value) -> int | None:
    """Coerce a submitted id: empty means none; anything not a possible id is refused."""
    if value in (None, "", "None"):
        return None
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError("not an id")
    return number
