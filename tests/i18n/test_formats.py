"""Numbers, amounts, percentages and dates as each language writes them, and
moments in the association's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_login import login_user

from crm import formats


@pytest.mark.parametrize(
    "language, number, amount, share, day",
    [
        ("en", "18,505", "€33,733,000", "23.5%", "Dec 5, 2026"),
        ("es", "18.505", "33.733.000\xa0€", "23,5\xa0%", "5 dic 2026"),
        ("pl", "18\xa0505", "33\xa0733\xa0000\xa0€", "23,5%", "5 gru 2026"),
        ("bg", "18\xa0505", "33\xa0733\xa0000\xa0€", "23,5%", "5.12.2026\u202fг."),
    ],
)
def test_each_language_writes_numbers_its_own_way(app, language, number, amount, share, day):
    with app.test_request_context(), force_locale(language):
        assert formats.number(18505) == number
        assert formats.money(Decimal("33733000.40")) == amount
        assert formats.percent(0.235) == share
        assert formats.date(date(2026, 12, 5)) == day
        assert formats.number(None) == formats.EMPTY


def test_amounts_keep_cents_and_their_currency_when_asked(app):
    with app.test_request_context(), force_locale("pl"):
        assert formats.money(1234.5, "PLN", cents=True) == "1\xa0234,50\xa0zł"
        assert formats.number(12.5, 1) == "12,5"


def test_moments_show_in_the_association_time_zone(make, session, app):
    spanish = make.tenant(country="ES")
    user = make.user(spanish, language="es")
    session.flush()
    with app.test_request_context():
        login_user(user)
        # 23:30 UTC on 31 December is already New Year's Day in Madrid.
        assert formats.datetime(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "1 ene 2027, 0:30"
