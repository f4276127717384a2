"""An analyst's recovery search over published figures, for the disclosure tests.

Each published cell becomes the range of true values it can stand for, knowing the
method (docs/metrics.md): a count shown as R stands for every count the method
publishes as R ("<5": 1 to 4; 10: 8 to 12); a sum R rounded to base B for R-B/2 to
R+B/2. The margins a reader can
subtract from are equations: the cells of a metric add up to its declared ``total``
(crm/metrics/definitions.py), the countries of a single-value metric add up to the
alliance. ``propagate`` narrows every range by every equation until nothing changes
(exactly "total minus the visible cells", repeated); ``candidates`` then tries each
value of a small cell in turn and keeps those the whole system still admits.
"""

from __future__ import annotations

from decimal import Decimal

from crm.metrics import disclosure
from crm.metrics.definitions import BY_KEY, COUNTRY_COMPARISON, METRICS
from crm.metrics.sql import DISTINCT_COUNTS

INF = Decimal("Infinity")
HALF = Decimal("0.5")


class Infeasible(Exception):
    pass


def parse(display: str) -> Decimal:
    return Decimal(display.replace("€", "").replace(",", "").replace("%", ""))


def published_range(unit: str, display: str, base: Decimal | None) -> tuple[Decimal, Decimal]:
    """The true values a published cell can stand for (counts: records; sums: amount)."""
    if unit == "count":
        if display.endswith("others"):
            return Decimal(1), Decimal(4)
        # Every count the method would publish as this text (its preimage): the
        # analyst applies the published rule to each candidate.
        shown = int(parse(display)) if display != disclosure.SUPPRESSED else 0
        window = range(max(0, shown - 20), shown + 21)
        able = [n for n in window if _as_published(n) == display]
        assert able, display
        return Decimal(min(able)), Decimal(max(able))
    if display == disclosure.SUPPRESSED or display.endswith("others"):
        return Decimal(0), INF
    value = parse(display)
    return max(Decimal(0), value - base * HALF), value + base * HALF


def _as_published(n: int) -> str:
    if disclosure.is_small(n):
        return disclosure.SUPPRESSED
    return f"{disclosure.round_count(n):,}"


def equations(keys) -> list[tuple[list, tuple]]:
    """Margins among ``keys`` ((scope, metric, d1, d2); scope 'total' or a country)."""
    keys = set(keys)
    out = []
    for m in METRICS:
        if m.unit == "ratio":
            continue
        if m.total:  # the cells of each scope add up to the scope's total metric
            for scope in {k[0] for k in keys if k[1] == m.key}:
                parts = [k for k in keys if k[0] == scope and k[1] == m.key]
                total = (scope, m.total, "", "")
                if total in keys:
                    out.append((parts, total))
        if m.key in COUNTRY_COMPARISON and m.key not in DISTINCT_COUNTS:
            parts = [k for k in keys if k[0] != "total" and k[1] == m.key]
            total = ("total", m.key, "", "")
            if parts and total in keys:
                out.append((parts, total))
    return out


def _sum(values) -> Decimal:
    return INF if INF in values else sum(values, Decimal(0))


def propagate(ranges: dict, eqs: list) -> dict:
    """Narrow every range by every equation to a fixed point (raises ``Infeasible``)."""
    ranges = dict(ranges)
    changed = True
    while changed:
        changed = False
        for parts, total in eqs:
            for key in [*parts, total]:
                others = [p for p in parts if p != key]
                lo_others = _sum([ranges[p][0] for p in others])
                hi_others = _sum([ranges[p][1] for p in others])
                lo, hi = ranges[key]
                t_lo, t_hi = ranges[total]
                if key == total:
                    new = (max(lo, lo_others), min(hi, hi_others))
                else:
                    floor = t_lo - hi_others if hi_others != INF else Decimal(0)
                    ceiling = t_hi - lo_others
                    new = (max(lo, floor), min(hi, ceiling))
                if new[0] > new[1]:
                    raise Infeasible(key)
                if new != (lo, hi):
                    ranges[key] = new
                    changed = True
    return ranges


def candidates(ranges: dict, eqs: list, key) -> list[int]:
    """Every whole value of ``key`` (a count) that the published figures still admit."""
    lo, hi = propagate(ranges, eqs)[key]
    out = []
    for value in range(int(lo), int(min(hi, lo + 50)) + 1):
        try:
            propagate({**ranges, key: (Decimal(value), Decimal(value))}, eqs)
        except Infeasible:
            continue
        out.append(value)
    return out


def unit(key) -> str:
    return BY_KEY[key[1]].unit
