"""How alike two organisation names are: pg_trgm's ``similarity``, in Python.

PostgreSQL compares names with the ``pg_trgm`` extension (migration 0004);
SQLite gets this same function under the same name (``crm.dialects``), so one
SQL statement finds the same likely duplicates on both. The algorithm is
pg_trgm's: each word (a run of letters and digits), lower-cased and padded
with two spaces before and one after, gives its three-letter slices; the
similarity is the share of slices the two names have in common (0 to 1).
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")
# At or above this, two names in the same city are shown as a likely duplicate
# ("Acme Robotics" and "ACME Robotics SAS": 0.78; "Acme Robotics" and "Acme Foods": 0.35).
SIMILAR_NAME = 0.6


@lru_cache(maxsize=4096)
def trigrams(text: str) -> frozenset[str]:
    grams: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(grams)


def similarity(a: str | None, b: str | None) -> float:
    """pg_trgm's ``similarity(a, b)``; 0 when either is blank."""
    if not a or not b:
        return 0.0
    left, right = trigrams(a), trigrams(b)
    union = len(left | right)
    return len(left & right) / union if union else 0.0
