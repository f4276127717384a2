"""Numbers, amounts, percentages and dates as the user's language writes them
(CLDR, through Babel), as Jinja filters: ``{{ total|number }}``,
``{{ budget|money }}``, ``{{ budget|money('PLN', cents=True) }}``,
``{{ share|percent }}``, ``{{ day|date }}``, ``{{ moment|datetime }}``.
Times are shown in the association's time zone (``crm.i18n``). Exports keep
machine-readable values: these are for pages and e-mails only."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import (
    format_compact_currency,
    format_currency,
    format_decimal,
    format_percent,
)
from flask import Flask
from flask_babel import format_date, format_time, get_locale

EMPTY = "—"


def _locale() -> Locale:
    return get_locale() or Locale.parse("en")


@cache
def _whole_amount_pattern(locale: Locale) -> str:
    """The locale's currency pattern without its decimals: "#,##0.00 ¤" -> "#,##0 ¤"."""
    pattern = locale.currency_formats["standard"].pattern.split(";")[0]
    return pattern.replace(".00", "").replace(".##", "")


def number(value, digits: int | None = None) -> str:
    """``18 505`` in Polish, ``18.505`` in Spanish; ``digits`` fixes the decimals."""
    if value is None or value == "":
        return EMPTY
    if digits is None:
        return format_decimal(value, locale=_locale())
    return format_decimal(
        value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=_locale()
    )


def money(value, currency: str = "EUR", cents: bool = False) -> str:
    """``33 733 000 €`` in Polish, ``€33,733,000`` in English; cents only if asked."""
    if value is None or value == "":
        return EMPTY
    locale = _locale()
    if cents:
        return format_currency(value, currency, locale=locale)
    rounded = Decimal(value).quantize(Decimal(1))
    return format_currency(
        rounded,
        currency,
        format=_whole_amount_pattern(locale),
        locale=locale,
        currency_digits=False,
    )


def compact_money(value, currency: str = "EUR") -> str:
    """A large sum for a headline tile: ``€1.06B``, ``1,06 mld €``, ``33,7 млн. €``."""
    if value is None or value == "":
        return EMPTY
    digits = 2 if abs(value) >= 10**9 else 1
    return format_compact_currency(value, currency, locale=_locale(), fraction_digits=digits)


def percent(value, digits: int = 1) -> str:
    """A share (0.235) as ``23,5 %`` in Spanish, ``23,5%`` in Polish."""
    if value is None or value == "":
        return EMPTY
    locale = _locale()
    pattern = locale.percent_formats[None].pattern.split(";")[0]
    if digits:  # the locale's own pattern ("#,##0 %"), with that many decimals
        pattern = re.sub(r"0(?![0#,.])", "0." + "0" * digits, pattern, count=1)
    return format_percent(value, format=pattern, locale=locale)


def date(value, format: str = "medium") -> str:
    """A day; a moment's day in the association's time zone."""
    if value is None or value == "":
        return EMPTY
    return format_date(value, format=format)


def datetime(value) -> str:
    """Day and minute in the association's time zone (a naive value is UTC):
    ``5 gru 2026, 10:30``."""
    if value is None or value == "":
        return EMPTY
    joined = _locale().datetime_formats["medium"]  # such as "{1}, {0}": date, then time
    return joined.format(format_time(value, format="short"), format_date(value, format="medium"))


def install(app: Flask) -> None:
    app.jinja_env.filters.update(
        number=number, money=money, percent=percent, date=date, datetime=datetime
    )
