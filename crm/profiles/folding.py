"""NACE sections of partner profiles (the accent-free folding is ``crm.folding``)."""

from __future__ import annotations

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
