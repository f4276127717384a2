"""Field rules for organisations and contacts, shared by forms and imports,
and ``RuleError``, how a service refuses a change.

Every ``check_*`` function takes plain values and returns an error message, or
``None`` when the value is acceptable. Empty values (``None`` or blank) are
acceptable: whether a field is required is the caller's decision. The WTForms
validators at the bottom wrap the same functions, so a form and an import row
reject exactly the same things with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from wtforms.validators import StopValidation

from crm.i18n import _
from crm.identifiers import (  # noqa: F401  (the identifier rules, re-exported)
    check_lei,
    check_pic,
    check_registration_id,
    check_ror,
    check_vat_id,
)
from crm.models.organisation import KINDS, NACE_REVISIONS, NUTS_REVISIONS

# NUTS codes start with the country code, except Greece (EL) ... and the UK (UK).
NUTS_COUNTRY = {"GR": "EL", "GB": "UK"}

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_NUTS2 = re.compile(r"^[A-Z]{2}[0-9A-Z][0-9A-Z]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d{1,5})?([/?#]\S*)?$", re.I)
# A host name with a dot and no scheme, then an optional port and path.
_BARE_HOST = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d{1,5})?([/?#]\S*)?$")
_NACE = re.compile(r"^([A-V]|\d{2}(\.\d{1,2})?)$")

Check = Callable[..., str | None]

# Integer columns: a larger id or count cannot be stored (PostgreSQL refuses
# to even compare an integer column with it).
MAX_ID = 2**31 - 1
# Dates people enter: anything outside is a typing slip, and 9999-12-31 plus
# one day does not exist.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)
# C0 control characters and DEL. PostgreSQL refuses NUL in text; the others
# have no business in a name, a code or a filter. Multi-line text keeps tab,
# newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def has_control(text: str, *, multiline: bool = False) -> bool:
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL).search(text))


def check_text(value, *, multiline: bool = False) -> str | None:
    if isinstance(value, str) and has_control(value, multiline=multiline):
        return _("Remove the control characters (such as NUL) from this text.")
    return None


def check_date(value: date | None) -> str | None:
    if value is None:
        return None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        return _(
            "Enter a date between %(first)s and %(last)s.",
            first=EARLIEST_DATE.year,
            last=LATEST_DATE.year,
        )
    return None


def bounded_int(value) -> int:
    """``int(value)`` within the integer columns' range, else ValueError."""
    number = int(value)
    if not -MAX_ID <= number <= MAX_ID:
        raise ValueError("out of range")
    return number


def normalise_code(value: str | None) -> str | None:
    """Upper case, no spaces: 'fr 10' -> 'FR10'; blank -> None."""
    if _blank(value):
        return None
    return re.sub(r"\s+", "", str(value)).upper()


def nuts_prefix(country: str | None) -> str | None:
    """The two letters a NUTS code of ``country`` starts with (GR -> EL)."""
    country = normalise_code(country)
    if not country:
        return None
    return NUTS_COUNTRY.get(country, country)


def check_country(value: str | None) -> str | None:
    if _blank(value):
        return None
    if not _COUNTRY.match(normalise_code(value)):
        return _("Enter a two-letter country code, such as FR or PL.")
    return None


def check_nuts2(value: str | None, country: str | None = None) -> str | None:
    """A NUTS-2 code (country prefix + 2 characters) that belongs to ``country``."""
    if _blank(value):
        return None
    code = normalise_code(value)
    if not _NUTS2.match(code):
        return _("Enter a NUTS-2 code: the country's two letters and two characters, such as FR10.")
    prefix = nuts_prefix(country)
    if prefix and code[:2] != prefix:
        return _(
            "A NUTS-2 region in %(country)s starts with %(prefix)s.",
            country=normalise_code(country),
            prefix=prefix,
        )
    return None


def check_email(value: str | None) -> str | None:
    if _blank(value):
        return None
    value = str(value).strip()
    if len(value) > 254 or not _EMAIL.match(value):
        return _("Enter an e-mail address such as name@example.org.")
    return None


def normalise_url(value: str | None) -> str | None:
    """A web address as stored: one typed without its scheme ("www.example.es",
    "example.es/about") gets ``https://``; anything else is left for ``check_url``."""
    if _blank(value):
        return value
    value = str(value).strip()
    if _BARE_HOST.match(value):
        return f"https://{value}"
    return value


def check_url(value: str | None) -> str | None:
    if _blank(value):
        return None
    value = normalise_url(value)
    if len(value) > 250 or not _URL.match(value):
        return _("Enter a web address such as www.example.org or https://example.org.")
    return None


def check_nace(value: str | None, revision: str | None = None) -> str | None:
    """A NACE section, division, group or class; section V (households as employers...)
    exists only in Rev. 2.1 (Rev. 2 ends at U)."""
    if _blank(value):
        return None
    code = normalise_code(value)
    if not _NACE.match(code):
        return _("Enter a NACE section (C), division (26), group (26.1) or class (26.11).")
    if code == "V" and (revision or "2") == "2":
        return _("Section V exists in NACE Rev. 2.1 only: choose that revision.")
    return None


def parse_number(value) -> int | float | None:
    """A number from a form or spreadsheet cell, or None when blank.

    Raises ValueError when the value is not a number. Spaces and apostrophes
    used as thousands separators are dropped.
    """
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return value
    text = re.sub(r"[\s\u00a0\u202f']", "", str(value))
    number = float(text)
    return int(number) if number.is_integer() else number


def check_non_negative(value, *, integer: bool = False, maximum: float | None = None) -> str | None:
    """A number >= 0 (a whole one when ``integer``), at most ``maximum``."""
    try:
        number = parse_number(value)
    except (TypeError, ValueError):
        return _("Enter a number.") if not integer else _("Enter a whole number.")
    if number is None:
        return None
    if number != number:  # NaN
        return _("Enter a number.")
    if integer and not float(number).is_integer():
        return _("Enter a whole number.")
    if number < 0:
        return _("Enter zero or a positive number.")
    if maximum is not None and number > maximum:
        return _("Enter a number no larger than %(max)s.", max=f"{maximum:,.0f}")
    return None


def check_year(value, *, earliest: int = 1800, latest: int = 2100) -> str | None:
    error = check_non_negative(value, integer=True)
    if error or _blank(value):
        return error
    year = int(parse_number(value))
    if not earliest <= year <= latest:
        return _("Enter a year between %(first)s and %(last)s.", first=earliest, last=latest)
    return None


def check_choice(value, choices) -> str | None:
    if _blank(value):
        return None
    if value not in choices:
        return _("Choose one of: %(codes)s.", codes=", ".join(sorted(choices)))
    return None


def check_not_own_member(cluster_id: int | None, member_id: int | None) -> str | None:
    if cluster_id is not None and cluster_id == member_id:
        return _("A cluster cannot be a member of itself.")
    return None


def organisation_errors(values: dict) -> dict[str, str]:
    """All field errors of an organisation given as a dict of plain values.

    Keys match ``crm.models.Organisation`` columns; missing keys are not checked.
    For the import: one call per row gives every reason a row is rejected.
    """
    errors: dict[str, str] = {}
    country = values.get("country")
    checks = {
        "kind": lambda: (
            (_("Choose the kind of organisation.") if _blank(values["kind"]) else None)
            or check_choice(values["kind"], KINDS)
        ),
        "name": lambda: _("Enter the organisation's name.") if _blank(values["name"]) else None,
        "country": lambda: (
            (_("Enter the country code.") if _blank(values["country"]) else None)
            or check_country(values["country"])
        ),
        "nuts2": lambda: check_nuts2(values["nuts2"], country),
        "vat_id": lambda: check_vat_id(values["vat_id"], country),
        "registration_id": lambda: check_registration_id(values["registration_id"], country),
        "pic": lambda: check_pic(values["pic"]),
        "lei": lambda: check_lei(values["lei"]),
        "ror": lambda: check_ror(values["ror"], values.get("kind")),
        "website": lambda: check_url(values["website"]),
        "nace": lambda: check_nace(values["nace"], values.get("nace_revision")),
        "nuts_revision": lambda: check_choice(values["nuts_revision"], NUTS_REVISIONS),
        "nace_revision": lambda: check_choice(values["nace_revision"], NACE_REVISIONS),
        "employees": lambda: check_non_negative(
            values["employees"], integer=True, maximum=10_000_000
        ),
        "turnover_eur": lambda: check_non_negative(values["turnover_eur"], maximum=9e15),
        "balance_sheet_eur": lambda: check_non_negative(values["balance_sheet_eur"], maximum=9e15),
        "founded_year": lambda: check_year(values["founded_year"]),
        "email": lambda: check_email(values["email"]),
    }
    for field, check in checks.items():
        if field in values:
            message = check()
            if message:
                errors[field] = message
    return errors


class RuleError(ValueError):
    """A rule refused a change. ``errors`` maps a form field ('' = the change as
    a whole) to its messages; ``RuleError("message", "field")`` says just one."""

    def __init__(self, errors: dict[str, list[str]] | str, field: str | None = None):
        if isinstance(errors, str):
            errors = {field or "": [errors]}
        super().__init__(" ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


# -- WTForms adapters -------------------------------------------------------


class Rule:
    """A WTForms validator around a ``check_*`` function.

    ``other`` names a sibling field whose data is passed as the second argument
    (the country for NUTS and VAT checks).
    """

    def __init__(self, check: Check, other: str | None = None, **kwargs):
        self.check, self.other, self.kwargs = check, other, kwargs
        self.field_flags = {}

    def __call__(self, form, field):
        args = [field.data]
        if self.other is not None:
            args.append(form[self.other].data)
        message = self.check(*args, **self.kwargs)
        if message:
            raise StopValidation(message)
