"""Every country an organisation may be in: ISO 3166-1 alpha-2 codes and English
names, kept as data in ``crm/data/countries.json`` (from the IANA time zone
database's ``iso3166.tab``, plus XK, which the EU Funding & Tenders portal uses)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from crm.i18n import _

_DATA = Path(__file__).parent / "data" / "countries.json"


@cache
def countries() -> dict[str, str]:
    """code -> name, by name."""
    return json.loads(_DATA.read_text(encoding="utf-8"))


def country_name(code: str | None) -> str:
    return countries().get(code or "", code or "")


def check_known_country(value: str | None) -> str | None:
    """A country code of the list (any country, not only the alliance's)."""
    if value is None or not str(value).strip():
        return None
    if str(value).strip().upper() not in countries():
        return _("Choose a country (a two-letter ISO code, such as DE or NO).")
    return None
