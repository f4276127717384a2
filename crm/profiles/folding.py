"""Folding text for the accent-free search: the same Python function folds the
stored ``search_text`` and the query, so SQLite and PostgreSQL agree
("Łódź" and "lodz", "Pérez" and "perez" fold alike)."""

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


# NACE Rev. 2 sections by their first division.
_SECTIONS = (
    (1, "A"), (5, "B"), (10, "C"), (35, "D"), (36, "E"), (41, "F"), (45, "G"), (49, "H"),
    (55, "I"), (58, "J"), (64, "K"), (68, "L"), (69, "M"), (77, "N"), (84, "O"), (85, "P"),
    (86, "Q"), (90, "R"), (94, "S"), (97, "T"), (99, "U"),
)  # fmt: skip


def nace_section(nace: str | None) -> str | None:
    """The section letter of a NACE code ("26.11" -> "C", "C" -> "C")."""
    if not nace:
        return None
    nace = nace.strip().upper()
    if nace[:1].isalpha():
        return nace[:1]
    digits = nace[:2]
    if not digits.isdigit():
        return None
    division = int(digits)
    section = None
    for first, letter in _SECTIONS:
        if division >= first:
            section = letter
    return section
