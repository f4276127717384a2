"""Alphabetical order by the language's rules, so that Łódź sorts after Lublin
in Polish, Ñ after N in Spanish and "ch" after "h" in Czech.

PostgreSQL sorts with ICU collations (``collation_name``: "pl-x-icu"). SQLite
and Python sort with ``sort_key``, a key string built from a small table of the
letters each language orders differently from the Unicode default (CLDR's
tailorings, at the primary level); other accents count only between otherwise
equal words, and case last. The SQLite function ``sort_key(text, language)``
is this same key (``crm.database`` registers it).
"""

from __future__ import annotations

import unicodedata
from functools import cache

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# Per language: letters (or digraphs) that sort as letters of their own after
# a base letter, in order ("ł" after "l"), and letters that sort as another
# at the primary level ("y" as "i" in Lithuanian).
_AFTER = {
    "cs": {"c": "č", "h": ["ch"], "r": "ř", "s": "š", "z": "ž"},
    "es": {"n": "ñ"},
    "fi": {"z": "åäö"},
    "hu": {
        "c": ["cs"],
        "d": ["dz", "dzs"],
        "g": ["gy"],
        "l": ["ly"],
        "n": ["ny"],
        "o": "ö",
        "s": ["sz"],
        "t": ["ty"],
        "u": "ü",
        "z": ["zs"],
    },
    "lt": {"c": "č", "s": "š", "z": "ž"},
    "lv": {"c": "č", "g": "ģ", "k": "ķ", "l": "ļ", "n": "ņ", "r": "ŗ", "s": "š", "z": "ž"},
    "pl": {"a": "ą", "c": "ć", "e": "ę", "l": "ł", "n": "ń", "o": "ó", "s": "ś", "z": "źż"},
    "ro": {"a": "ăâ", "i": "î", "s": "ș", "t": "ț"},
    "sk": {"a": "ä", "c": "č", "h": ["ch"], "o": "ô", "r": "ř", "s": "š", "z": "ž"},
}
_SAME = {
    "fi": {"æ": "ä", "ø": "ö", "ü": "y"},
    "hu": {"ő": "ö", "ű": "ü"},
    "lt": {"y": "i"},
    "ro": {"ş": "ș", "ţ": "ț"},
}
# Letters without a decomposition, as the letters they sort with by default.
_PLAIN = {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t"}
_EXPANDED = {"ß": "ss", "æ": "ae", "œ": "oe", "þ": "th"}
_END = "\x01"  # below every weight: a shorter word sorts first


# The languages whose order differs from the root order of Unicode (CLDR): each
# has its own collation and index; the others (English, French, Portuguese,
# Bulgarian) sort by the root order, "und-x-icu".
TAILORED = ("cs", "es", "fi", "hu", "lt", "lv", "pl", "ro", "sk")


def collation_name(language: str) -> str:
    """The PostgreSQL ICU collation of ``language``: "pl-x-icu", else "und-x-icu"."""
    return f"{language if language in TAILORED else 'und'}-x-icu"


@cache
def _table(language: str) -> tuple[dict[str, tuple[str, int]], int]:
    """unit -> (base letter, rank after it); the longest unit's length."""
    table: dict[str, tuple[str, int]] = {}
    for base, after in _AFTER.get(language, {}).items():
        for rank, unit in enumerate(after, start=1):
            table[unit] = (base, rank)
    for letter, same in _SAME.get(language, {}).items():
        table[letter] = table.get(same, (same, 0))
    return table, max((len(u) for u in table), default=1)


def _weight(base: str, rank: int) -> str:
    code = ord(base)
    if base.isdigit():
        return chr(0x3000 + int(base)) if base.isascii() else chr(0x3000 + code % 0x1000)
    if not base.isalpha():
        return chr(0x2000 + code % 0x1000)  # spaces and punctuation before digits and letters
    if code < 0x1000:
        return chr(0x4000 + code * 8 + rank)
    return chr(0x10000 + code)


def _base(char: str) -> str:
    """The letter(s) ``char`` sorts with by default: "é" -> "e", "ß" -> "ss"."""
    if char in _EXPANDED:
        return _EXPANDED[char]
    if char in _PLAIN:
        return _PLAIN[char]
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) > 1 and decomposed[0].isascii():  # Latin letters: accents aside
        return "".join(c for c in decomposed if not unicodedata.combining(c))
    return char  # й, ё: letters of their own in Cyrillic


def fold(text: str) -> str:
    """``text`` with case and accents aside, for matching what is typed:
    "lodz" = "Łódź", "pais vasco" = "País Vasco"."""
    return " ".join("".join(_base(c) for c in text.casefold()).split())


def sort_key(text: str | None, language: str = "en") -> str | None:
    """A string whose plain (code point, or SQLite BINARY) order is ``language``'s
    alphabetical order of ``text``: letters first, then accents, then case."""
    if text is None:
        return None  # NULLS LAST and IS NULL as on the column itself
    folded = unicodedata.normalize("NFC", text.casefold())
    table, longest = _table(language)
    primary = []
    i = 0
    while i < len(folded):
        for size in range(min(longest, len(folded) - i), 0, -1):
            unit = folded[i : i + size]
            if unit in table:
                primary.append(_weight(*table[unit]))
                i += size
                break
        else:
            primary.extend(_weight(c, 0) for c in _base(folded[i]))
            i += 1
    accents = unicodedata.normalize("NFD", folded)
    return "".join(primary) + _END + accents + _END + text.swapcase()


class collated(FunctionElement):
    """``column`` in ``language``'s alphabetical order, for ORDER BY and keyset
    comparisons: ``column COLLATE "pl-x-icu"`` on PostgreSQL (the name sort's
    per-collation index, migration 0030), ``sort_key(column, 'pl')`` on SQLite."""

    type = String()
    inherit_cache = True

    def __init__(self, column, language: str):
        self.collation = collation_name(language)
        self.language = self.collation.removesuffix("-x-icu")
        super().__init__(column)

    def _gen_cache_key(self, anon_map, bindparams):
        return (*super()._gen_cache_key(anon_map, bindparams), self.collation)


@compiles(collated)
def _collated(element, compiler, **kw):
    return f'{compiler.process(element.clauses, **kw)} COLLATE "{element.collation}"'


@compiles(collated, "sqlite")
def _collated_sqlite(element, compiler, **kw):
    return f"sort_key({compiler.process(element.clauses, **kw)}, '{element.language}')"


def in_tenant_order(column) -> collated:
    """``column`` in the order of the current association's language (English
    outside a request, and for the alliance office)."""
    from flask import g, has_app_context

    from crm.i18n import tenant_language

    return collated(column, tenant_language(g.get("tenant") if has_app_context() else None))
