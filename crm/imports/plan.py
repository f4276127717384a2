"""What an import would do, row by row: the ``ImportPlan`` both steps build and the
commit writes, and what the per-kind planners share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

Progress = Callable[[int, str], None]
# Rejected rows kept in the stored report (the counts are always exact).
MAX_REPORTED = 100_000


@dataclass
class ImportPlan:
    """Rows to create and to update (column dicts, ready for the writers), how many
    are unchanged, and every rejected row with its line and reason."""

    kind: str
    rows: int = 0
    creates: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)
    decimal_mark: str = "."
    extra: dict = field(default_factory=dict)
    # field key -> label, to name a field in a reason
    labels: dict[str, str] = field(default_factory=dict)

    def reject(self, line: int, reason: str, label: str = "") -> None:
        self.rejected.append({"line": line, "reason": reason, "label": label[:120]})

    def report(self) -> dict:
        rejected = sorted(self.rejected, key=lambda r: r["line"])
        return {
            "rows": self.rows,
            "created": len(self.creates),
            "updated": len(self.updates),
            "unchanged": self.unchanged,
            "rejected_count": len(rejected),
            "rejected": rejected[:MAX_REPORTED],
            "decimal_mark": self.decimal_mark,
            **self.extra.get("report", {}),
        }


def same(a, b) -> bool:
    """Equal as stored: amounts compare by value (the file's 1234.5, the database's 1234.50)."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return a is not None and b is not None and Decimal(a) == Decimal(b)
        except (TypeError, ValueError):
            return False
    return a == b
