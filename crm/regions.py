"""Countries and NUTS-2 regions by name: the names shown for codes
(``|country_name``, ``|region_name``), the lists they are chosen from (the
association's country first) and the reading of a typed name back into its code.

Regions are the NUTS 2021 level-2 regions (and the codes NUTS 2024 added) of
the EU and EEA countries and Switzerland (and the UK's of 2016, for the names
of partners there), named in their national language as
Eurostat publishes them (``crm/data/nuts2.json``, its source inside). Countries
are named in the user's language (CLDR, through Babel).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale
from flask import Flask, g, has_app_context
from flask_babel import get_locale

from crm.collation import fold, sort_key
from crm.countries import countries

_DATA = Path(__file__).parent / "data" / "nuts2.json"
# A NUTS code's two letters where they are not the ISO country code.
NUTS_TO_ISO = {"EL": "GR", "UK": "GB"}
# Region names written in another script, shown so to readers of that language.
_SCRIPT_LANGUAGE = {"BG": "bg", "EL": "el"}
# The classifications offered in the lists; the UK's 2016 regions are for names only.
CURRENT_REVISIONS = {"2021", "2024"}
_PREFIX = re.compile(r"[A-Z]{2}[0-9A-Z]{0,2}")


@dataclass(frozen=True)
class Region:
    code: str
    country: str  # ISO 3166 (GR, not EL)
    name: str  # in the national language and script
    latin: str  # Eurostat's transliteration, or ``name``
    revisions: tuple[str, ...]


@cache
def regions() -> dict[str, Region]:
    data = json.loads(_DATA.read_text(encoding="utf-8"))["regions"]
    return {
        code: Region(
            code,
            NUTS_TO_ISO.get(entry["country"], entry["country"]),
            entry["name"],
            entry.get("latin", entry["name"]),
            tuple(entry["revisions"]),
        )
        for code, entry in data.items()
    }


def association_country() -> str | None:
    """The current association's country, whose places the lists offer first."""
    tenant = g.get("tenant") if has_app_context() else None
    return tenant.country if tenant is not None else None


def _language() -> str:
    return str(get_locale() or "en")


# -- countries ---------------------------------------------------------------------


@cache
def _territories(language: str) -> dict:
    try:
        return Locale.parse(language).territories
    except (ValueError, LookupError):
        return {}


def country_name(code: str | None, language: str | None = None) -> str:
    """ "Polonia" for PL in Spanish; the code itself when unknown; "" for none."""
    if not code:
        return ""
    code = NUTS_TO_ISO.get(code.upper(), code.upper())
    return _territories(language or _language()).get(code) or countries().get(code) or code


def country_label(code: str | None) -> str:
    return f"{country_name(code)} ({code})" if code else ""


def country_names(language: str | None = None) -> dict[str, str]:
    """code -> name in the user's language, in that language's alphabetical order."""
    language = language or _language()
    named = ((code, country_name(code, language)) for code in countries())
    return dict(sorted(named, key=lambda pair: sort_key(pair[1], language)))


def country_choices(first: str | None = None, language: str | None = None) -> list[tuple]:
    """``(code, "Polska (PL)")`` by name in the user's language, ``first`` first."""
    language = language or _language()
    named = sorted(
        ((code, country_name(code, language)) for code in countries()),
        key=lambda pair: sort_key(pair[1], language),
    )
    labelled = [(code, f"{name} ({code})") for code, name in named]
    return [c for c in labelled if c[0] == first] + [c for c in labelled if c[0] != first]


@cache
def _country_names_folded(language: str) -> dict[str, str]:
    names = {}
    for code, english in countries().items():
        names[fold(english)] = code
        names[fold(country_name(code, language))] = code
    return names


def country_code(text: str | None) -> str | None:
    """The code of a typed country ("PL", "pl", "Polska", "Poland", "Polska (PL)"), or None."""
    text = (text or "").strip()
    if not text:
        return None
    code = _code_in_brackets(text) or text.upper()
    if code in countries():
        return code
    return _country_names_folded(_language()).get(fold(text))


# -- regions -----------------------------------------------------------------------


def region_name(code: str | None, language: str | None = None) -> str:
    """ "Łódzkie" for PL71; Bulgarian and Greek names in their script for their
    readers, in Latin letters for the others; the code itself when unknown."""
    if not code:
        return ""
    region = regions().get(code.upper())
    if region is None:
        return code
    if _SCRIPT_LANGUAGE.get(region.code[:2]) == (language or _language()):
        return region.name
    return region.latin


def region_label(code: str | None) -> str:
    """ "Łódzkie (PL71)"."""
    return f"{region_name(code)} ({code})" if code else ""


def region_choices(country: str | None, language: str | None = None) -> list[tuple]:
    """``(code, "Łódzkie (PL71)")``: the regions of ``country`` (the association's)
    first, by name in its language's order, then the other countries' regions
    grouped by country."""
    language = language or _language()
    current = [r for r in regions().values() if CURRENT_REVISIONS & set(r.revisions)]
    own = [r for r in current if r.country == country]
    others = [r for r in current if r.country != country]
    own.sort(key=lambda r: sort_key(region_name(r.code, language), language))
    others.sort(
        key=lambda r: (
            sort_key(country_name(r.country, language), language),
            sort_key(region_name(r.code, language), language),
        )
    )
    return [(r.code, f"{region_name(r.code, language)} ({r.code})") for r in own + others]


@cache
def _region_names_folded() -> dict[str, str]:
    names: dict[str, str] = {}
    for region in regions().values():
        for name in (region.name, region.latin):
            names.setdefault(fold(name), region.code)  # a name two countries share: the first
    return names


def region_code(text: str | None) -> str | None:
    """The code of a typed region: "PL71", "pl71", "Łódzkie", "lodzkie",
    "Łódzkie (PL71)"; None when no region has that code or name."""
    text = (text or "").strip()
    if not text:
        return None
    code = _code_in_brackets(text) or "".join(text.split()).upper()
    if code in regions():
        return code
    return _region_names_folded().get(fold(text))


def region_prefix(text: str) -> str | None:
    """What a region filter keeps of ``text``: a region's code from its name or
    code, or a code prefix that some region starts with (PL: Poland, PL7: its
    NUTS-1 macro-region); None for anything else ("País" alone)."""
    code = region_code(text)
    if code:
        return code
    compact = "".join(text.split()).upper()
    if _PREFIX.fullmatch(compact) and any(c.startswith(compact) for c in regions()):
        return compact
    return None


def _code_in_brackets(text: str) -> str | None:
    if text.endswith(")") and "(" in text:
        return text[text.rindex("(") + 1 : -1].strip().upper()
    return None


def install(app: Flask) -> None:
    app.jinja_env.filters.update(
        country_name=country_name,
        country_label=country_label,
        region_name=region_name,
        region_label=region_label,
    )
