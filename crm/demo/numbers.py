"""Plausible identifiers for demo organisations: registry and VAT numbers that pass
their country's checks (``crm.identifiers``), one per seed (distinct seeds, distinct
numbers), so a demo is repeatable and never names one number twice."""

from __future__ import annotations

from crm.identifiers import check_registration_id, check_vat_id

# Country -> (letters before the digits, how many digits) of a registry number.
REGISTRY_SHAPES = {
    "BG": ("", 9), "CZ": ("", 8), "ES": ("B", 8), "FI": ("", 8), "FR": ("", 9),
    "PL": ("", 9), "PT": ("5", 8), "RO": ("", 8),
}  # fmt: skip
DEFAULT_SHAPE = ("", 9)
# Country -> (leading digits, how many digits) of a VAT number, where it is not the
# registry number (Latvian firms' numbers start with 4, Slovak ones' third digit is 2-9).
VAT_SHAPES = {"HU": ("", 8), "LT": ("", 9), "LV": ("4", 11), "SK": ("202", 10), "PL": ("", 10)}
VAT_FROM_REGISTRY = ("BG", "CZ", "ES", "FI", "PT", "RO")


def _with_check_digit(seed: int, prefix: str, n: int, valid) -> str | None:
    """``n`` digits after ``prefix``, their last one chosen so that ``valid`` accepts
    them. The body counts from 10...0 (seed * 20 + attempt): distinct seeds never meet."""
    for attempt in range(20):
        body = prefix + str(10 ** (n - 2) + seed * 20 + attempt)
        for last in "0123456789":
            if valid(body + last):
                return body + last
    return None


def registration_number(country: str, seed: int) -> str:
    """A registry number that passes ``country``'s check (or a plain one where none)."""
    prefix, n = REGISTRY_SHAPES.get(country, DEFAULT_SHAPE)
    number = _with_check_digit(seed, prefix, n, lambda v: check_registration_id(v, country) is None)
    return number or str(10**8 + seed)


def vat_number(country: str, registration: str, seed: int) -> str | None:
    """A VAT number of ``country`` that passes its check, or None when none is drawn."""
    prefix = "EL" if country == "GR" else country
    if country == "FR":
        key = (12 + 3 * (int(registration) % 97)) % 97
        return f"FR{key:02d}{registration}"
    if country in VAT_FROM_REGISTRY:
        candidate = prefix + registration
        return candidate if check_vat_id(candidate, country) is None else None
    lead, n = VAT_SHAPES.get(country, ("", 9))
    return _with_check_digit(
        seed, prefix + lead, n - len(lead), lambda v: check_vat_id(v, country) is None
    )
