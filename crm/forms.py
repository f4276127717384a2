"""What every form shares: ``Form``, the base that refuses what no field may
hold (control characters, text longer than its column, dates outside
1900-2100, integers outside the columns' range); and for the views, one
commit when the change is saved, each refusal beside its field, 422 while a
form shows errors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)
from flask import flash, render_template
from flask_babel import get_locale, to_user_timezone, to_utc
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
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import Length, NumberRange, StopValidation
from wtforms.widgets import Select

from crm import regions
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
    if issubclass(field_class, IntegerField | LocalIntegerField):
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
    if issubclass(field_class, DecimalField | LocalDecimalField) and isinstance(
        column.type, Numeric
    ):
        largest = Decimal(10) ** (column.type.precision - column.type.scale) - 1
        return [NumberRange(-largest, largest, message=_l("That amount is too large."))]
    return []


# -- numbers as the user's language writes them ---------------------------------

_SPACES = "\u0020\u00a0\u202f"
_NUMBER_TEXT = re.compile(rf"[+-]?[0-9{_SPACES}.,]+")
# One dot or comma followed by exactly three digits and nothing else: "1.234".
_LONE_MARK = re.compile(r"[+-]?[0-9]{1,3}([.,])[0-9]{3}")
_SPACED = re.compile(rf"[+-]?[0-9]{{1,3}}([{_SPACES}][0-9]{{3}})+([.,][0-9]+)?")
_DOT_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?")
_POINT_DECIMAL = re.compile(r"[+-]?[0-9]+\.([0-9]{1,2}|[0-9]{4,})")


class NumberError(ValueError):
    """A typed number that cannot be read; its message is for the form."""


def parse_local_number(text: str, locale: Locale | str | None = None) -> Decimal | None:
    """A number as ``locale`` (default: the user's) writes it, or None when blank:
    ``8.500.000`` and ``12,5`` in Spanish, ``8 500 000`` and ``12,5`` in Polish,
    ``8,500,000`` and ``12.5`` in English. Also read: spaces of any kind as
    thousands separators where the language groups with a space, and a point
    before decimals in a language that writes a comma (``12.5``) where it
    cannot be a thousands separator.

    Ambiguous, refused: a lone dot or comma followed by exactly three digits
    (``1.234``, ``1,234``) unless it is the language's thousands separator
    (``1.234`` is 1234 in Spanish, ``1,234`` is 1234 in English; ``1,234`` in
    Spanish or ``1.234`` in Polish might be either)."""
    locale = Locale.parse(locale or get_locale() or "en")
    text = (text or "").strip()
    if not text:
        return None
    example = format_decimal(Decimal("1234567.5"), locale=locale)
    if not _NUMBER_TEXT.fullmatch(text):
        raise NumberError(_("Enter a number, such as %(example)s.", example=example))
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    if _SPACED.fullmatch(text):  # "8 500 000": spaces group digits in any language
        text = re.sub(f"[{_SPACES}]", "", text)
    lone = _LONE_MARK.fullmatch(text)
    if lone and lone.group(1) != group:
        whole, fraction = re.split(r"[.,]", text)
        raise NumberError(
            _(
                "“%(text)s” could be read two ways: write %(whole)s for a whole number, "
                "or %(decimal)s for a decimal one.",
                text=text,
                whole=whole + fraction,
                decimal=f"{whole}{decimal}{fraction}0",
            )
        )
    if decimal == "," and _DOT_GROUPED.fullmatch(text):
        text = text.replace(".", "")  # "8.500.000" as many write it beside a decimal comma
    elif decimal == "," and _POINT_DECIMAL.fullmatch(text):
        text = text.replace(".", decimal)  # "12.5": a point that cannot be grouping
    try:
        value = parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError:
        raise NumberError(
            _("Enter a number as you would write it, such as %(example)s.", example=example)
        ) from None
    if not value.is_finite():
        raise NumberError(_("Enter a number, such as %(example)s.", example=example))
    return value


class LocalDecimalField(StringField):
    """A number typed as the user's language writes it (``parse_local_number``);
    ``data`` is a ``Decimal`` or None. Shown back in the same writing. A text
    input with a decimal keypad: a browser's number input refuses ``8.500.000``."""

    def __init__(self, label=None, validators=None, places: int | None = None, **kwargs):
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.places = places

    def process_formdata(self, valuelist):
        if not valuelist:  # not submitted: the default stays
            return
        self.data = None
        value = parse_local_number(valuelist[0])  # NumberError: shown beside the field
        if value is not None and self.places is not None:
            try:
                rounded = value.quantize(Decimal(1).scaleb(-self.places))
            except InvalidOperation:  # more digits than a Decimal holds: no column takes it
                raise NumberError(_("That number is too large.")) from None
            if value != rounded:
                raise NumberError(
                    _("Enter at most %(places)s decimals.", places=self.places)
                    if self.places
                    else _("Enter a whole number.")
                )
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None or self.data == "":
            return ""
        pattern = f"#,##0.{'0' * self.places}" if self.places else None  # cents kept: 800.00
        return format_decimal(self.data, format=pattern, locale=get_locale() or "en")


class LocalIntegerField(LocalDecimalField):
    """A whole number as the user's language writes it; ``data`` is an ``int``."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, places=0, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = int(self.data)


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


# -- countries and regions by name (crm.regions) ------------------------------------


class _PlaceField(SelectField):
    """A select of places by name with the code beside it ("Łódzkie (PL71)"), the
    association's country first. A typed name or code is read too (a script or a
    browser without the list); a value the list does not hold is refused, except
    the record's own current value (an older classification's code is kept)."""

    widget = QuickSelect()
    unknown_message = _l("Choose from the list.")

    def __init__(self, label=None, validators=None, blank=None, **kwargs):
        super().__init__(label, validators, choices=[], **kwargs)
        self.blank = blank

    def read(self, text: str) -> str | None:
        raise NotImplementedError

    def listed(self, first: str | None) -> list:
        raise NotImplementedError

    def process(self, formdata, data=unset_value, extra_filters=None):
        super().process(formdata, data, extra_filters)
        head = [("", str(self.blank))] if self.blank is not None else []
        listed = self.listed(regions.association_country())
        codes = {code for code, _label in _flatten(listed)}
        if self.object_data and self.object_data not in codes:
            head.append((self.object_data, f"{self.object_data}"))
        self.choices = [*head, *listed] if isinstance(listed, list) else listed

    def process_formdata(self, valuelist):
        if valuelist:
            text = valuelist[0].strip()
            self.data = (self.read(text) or text) if text else ""

    def pre_validate(self, form):
        if self.data and self.data not in {code for code, _ in _flatten(self.choices)}:
            raise StopValidation(str(self.unknown_message))


def _flatten(choices) -> list:
    if isinstance(choices, dict):
        return [choice for group in choices.values() for choice in group]
    return list(choices)


class CountryField(_PlaceField):
    """A country by name in the user's language: "Polska (PL)"."""

    unknown_message = _l("Choose a country from the list, or type its name or two-letter code.")

    def read(self, text):
        return regions.country_code(text)

    def listed(self, first):
        return regions.country_choices(first)


class RegionField(_PlaceField):
    """A NUTS-2 region by its national name: "Łódzkie (PL71)"; the association's
    country's regions first, then the others."""

    unknown_message = _l("Choose a region from the list, or type its name or NUTS-2 code.")

    def read(self, text):
        return regions.region_code(text)

    def listed(self, first):
        return regions.region_choices(first)
