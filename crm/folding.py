"""Folding text for accent-free search, in one place: the query is folded by ``fold``
in Python, and the searched columns by the same rule in the database
(``crm_fold``: PostgreSQL's SQL function of migration 0029, the Python one
registered on SQLite), so "Łódź" and "lodz", "Pérez" and "perez" fold alike on both."""

from __future__ import annotations

import re
import unicodedata

# Letters NFKD does not split into a base letter and a mark.
_LETTERS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h"}
)
_NOT_WORD = re.compile(r"[\W_]+")


def fold(*parts: str | None) -> str:
    """Lower case, no accents, words separated by one space."""
    text = " ".join(p for p in parts if p).casefold().translate(_LETTERS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", text).strip()
