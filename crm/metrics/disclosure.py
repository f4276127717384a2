"""Disclosure control of the figures that leave an association, and exact shares.

The method (docs/metrics.md, "Disclosure control"): primary suppression of
cells with 1 to 4 records, and every other published count rounded to a base
of 5, each cell and each total on its own; sums rounded to a base that hides
the largest suppressed sum of their metric; shares computed from the
published (rounded) numerator and denominator. A share is the exact fraction
with one half-up rounding to the displayed precision, for every audience.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SMALL_CELL = 5  # cells with 1 to SMALL_CELL - 1 records are suppressed
SUPPRESSED = "<5"
ROUNDING_BASE = 5  # every other published count is rounded to a multiple of this
# Sums keep at least this many significant figures of the metric's largest cell...
SUM_FIGURES = 3
# ...and are rounded to a base at least this many times the metric's largest suppressed
# sum, so that "total minus the visible cells" leaves it anywhere from 0 to over twice
# its value (each rounded cell in the sum is uncertain by half the base).
SUM_COVER = 4
SHARE_PLACES = 1  # a share is shown in percent with one decimal


def is_small(n: int | None, base: int | None = None) -> bool:
    """Primary suppression: 1 to 4 records behind a cell (or behind a share's
    numerator or denominator). Zero is not small: it singles out no one."""
    return any(x is not None and 0 < x < SMALL_CELL for x in (n, base))


def round_count(n: int) -> int:
    """``n`` to the nearest multiple of 5, halves up (7 -> 5, 8 -> 10); 0 stays 0.

    Applied to every published count of 5 or more (1 to 4 are suppressed), totals
    included, each on its own: a total is not the sum of its rounded cells.
    """
    return (n + ROUNDING_BASE // 2) // ROUNDING_BASE * ROUNDING_BASE


def sum_base(largest: Decimal | None, largest_suppressed: Decimal | None) -> Decimal:
    """The rounding base of one metric's sums in one snapshot: a power of ten that keeps
    ``SUM_FIGURES`` significant figures of its largest cell and is at least
    ``SUM_COVER`` times its largest suppressed sum (never below 1)."""
    base = Decimal(1)
    if largest:
        digits = abs(largest).adjusted() + 1  # digits before the point
        base = max(base, Decimal(10) ** max(0, digits - SUM_FIGURES))
    if largest_suppressed:
        cover = abs(largest_suppressed) * SUM_COVER
        base = max(base, Decimal(10) ** (cover.adjusted() + (0 if _is_power(cover) else 1)))
    return base


def _is_power(value: Decimal) -> bool:
    return value == Decimal(10) ** value.adjusted()


def round_to(value: Decimal, base: Decimal) -> Decimal:
    """``value`` to the nearest multiple of ``base``, halves away from zero."""
    return (Decimal(value) / base).quantize(Decimal(1), ROUND_HALF_UP) * base


def percent(num: int, den: int, places: int = SHARE_PLACES) -> Decimal:
    """num / den in percent, exactly, rounded once (half up) to ``places`` decimals.

    Integer arithmetic, so the only rounding is the last one: 5041 / 7045 is
    71.554...% and shows as 71.6%, never 71.5% (a share stored to four decimals
    and rounded again in binary floating point did that).
    """
    scale = 100 * 10**places
    units = (2 * num * scale + den) // (2 * den)  # half up, for num, den >= 0
    return Decimal(units).scaleb(-places)
