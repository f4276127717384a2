"""Finding likely duplicates with set-based SQL, the same on PostgreSQL and SQLite.

Identifiers are compared in their stored (compact) form, the one forms and imports
write (``crm.identifiers.STORED_FORMS``). Names are compared with pg_trgm's
``similarity`` on the lower-cased names of organisations in the same city
(lower-cased too); SQLite runs the same function in Python
(``crm.duplicates.names``). Merged organisations (``merged_into_id``) are never
candidates; archived ones are, marked as such, since they can be restored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from crm.dialects import lowered
from crm.duplicates.names import SIMILAR_NAME, similarity
from crm.extensions import db
from crm.i18n import _l
from crm.identifiers import STORED_FORMS
from crm.models import Organisation

IDENTIFIERS = {
    "registration_id": "registration number",
    "vat_id": "VAT number",
    "pic": "PIC",
}
# Why two organisations look alike, in the reader's language.
SAME = {
    "registration_id": _l("same registration number"),
    "vat_id": _l("same VAT number"),
    "pic": _l("same PIC"),
}
SIMILAR_IN_CITY = _l("similar name in the same city")
SAME_IN_CITY = _l("same name in the same city")
SHOWN = 10  # candidates shown beside a form


@dataclass
class Candidate:
    id: int
    name: str
    city: str | None
    country: str
    archived: bool
    reasons: list[str]


def _stored(values: dict, key: str) -> str | None:
    value = values.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return STORED_FORMS[key](value, values.get("country"))


def _name_score(column, name: str):
    return func.similarity(lowered(column), name.lower(), type_=Float)


def _candidates_query(values: dict, exclude_id: int | None):
    """Organisations sharing an identifier with ``values``, or named alike in its city."""
    conditions, reasons = [], []
    for key in IDENTIFIERS:
        stored = _stored(values, key)
        if stored:
            column = getattr(Organisation, key)
            conditions.append(column == stored)
            reasons.append((column == stored, str(SAME[key])))
    name, city = (values.get("name") or "").strip(), (values.get("city") or "").strip()
    score = literal(0.0, Float)
    if name and city:
        score = _name_score(Organisation.name, name)
        similar = and_(lowered(Organisation.city) == city.lower(), score >= SIMILAR_NAME)
        conditions.append(similar)
        reasons.append((similar, str(SIMILAR_IN_CITY)))
    if not conditions:
        return None, []
    query = select(
        Organisation.id,
        Organisation.name,
        Organisation.city,
        Organisation.country,
        Organisation.archived,
        score.label("score"),
        *(condition.label(f"r{i}") for i, (condition, _) in enumerate(reasons)),
    ).where(or_(*conditions), Organisation.merged_into_id.is_(None))
    if exclude_id is not None:
        query = query.where(Organisation.id != exclude_id)
    return query, [label for _, label in reasons]


def candidates(values: dict, *, exclude_id: int | None = None) -> list[Candidate]:
    """The likely duplicates of an organisation typed as ``values`` (Organisation
    column values as typed: identifiers are compared in their stored form), in one
    statement: identifier matches first, then by name similarity."""
    query, labels = _candidates_query(values, exclude_id)
    if query is None:
        return []
    rows = db.session.execute(query.order_by(Organisation.archived, Organisation.id)).all()
    found = [
        Candidate(
            row.id,
            row.name,
            row.city,
            row.country,
            row.archived,
            [label for i, label in enumerate(labels) if row[6 + i]],
        )
        for row in rows
    ]
    similar = str(SIMILAR_IN_CITY)  # an identifier in common ranks first
    found.sort(key=lambda c: (all(r == similar for r in c.reasons), c.archived))
    return found[:SHOWN]


class DuplicateIndex:
    """The association's organisations by identifier and by city, loaded in one
    statement, for an import's dry run: each row is compared in memory (with the
    same similarity as the SQL), whatever the number of rows."""

    def __init__(self, session):
        rows = session.execute(
            select(*_COLUMNS, *(getattr(Organisation, k) for k in IDENTIFIERS)).where(
                Organisation.merged_into_id.is_(None)
            )
        ).all()
        self.by_identifier: dict[tuple[str, str], list] = {}
        self.by_city: dict[str, list] = {}
        for row in rows:
            for key in IDENTIFIERS:
                if getattr(row, key):
                    self.by_identifier.setdefault((key, getattr(row, key)), []).append(row)
            if row.city:
                self.by_city.setdefault(row.city.lower(), []).append(row)

    def candidates(self, values: dict) -> list[Candidate]:
        found: dict[int, Candidate] = {}

        def add(org, reason: str) -> None:
            candidate = found.setdefault(
                org.id, Candidate(org.id, org.name, org.city, org.country, org.archived, [])
            )
            candidate.reasons.append(reason)

        for key in IDENTIFIERS:
            stored = _stored(values, key)
            for org in self.by_identifier.get((key, stored), ()) if stored else ():
                add(org, str(SAME[key]))
        name, city = (values.get("name") or "").strip(), (values.get("city") or "").strip()
        if name and city:
            for org in self.by_city.get(city.lower(), ()):
                if similarity(org.name.lower(), name.lower()) >= SIMILAR_NAME:
                    add(org, str(SIMILAR_IN_CITY))
        return list(found.values())[:SHOWN]


_COLUMNS = (
    Organisation.id,
    Organisation.name,
    Organisation.city,
    Organisation.country,
    Organisation.archived,
)


# -- the report ------------------------------------------------------------


@dataclass
class Pair:
    a_id: int
    a_name: str
    a_city: str | None
    b_id: int
    b_name: str
    b_city: str | None
    reasons: list[str]
    score: float


def _pairs_subquery():
    """Likely pairs (a.id < b.id) of organisations in the directory (not archived,
    not merged), one row per pair, with a flag per reason: one self-join per reason
    (each an equality join the database can hash or merge), then grouped."""
    a, b = aliased(Organisation), aliased(Organisation)
    live = and_(
        a.archived.is_(False),
        b.archived.is_(False),
        a.merged_into_id.is_(None),
        b.merged_into_id.is_(None),
        a.id < b.id,
    )
    zero = literal(0)
    branches = []
    for key in IDENTIFIERS:
        flags = [literal(1 if k == key else 0).label(k) for k in IDENTIFIERS]
        branches.append(
            select(a.id.label("a_id"), b.id.label("b_id"), *flags, literal(0.0).label("score"))
            .select_from(a)
            .join(b, getattr(a, key) == getattr(b, key))
            .where(live, getattr(a, key).is_not(None))
        )
    # The same name in the same city (case aside). Not the trigram similarity of the
    # form's check: compared pair by pair within a city it took 4.4 s for the largest
    # association at scale 1 (22,000 organisations, 400,000 pairs sharing a city and
    # the first letters), against 0.4 s for this equality, a hash or merge join.
    branches.append(
        select(
            a.id.label("a_id"),
            b.id.label("b_id"),
            *(zero.label(k) for k in IDENTIFIERS),
            literal(1.0).label("score"),
        )
        .select_from(a)
        .join(b, and_(lowered(a.city) == lowered(b.city), lowered(a.name) == lowered(b.name)))
        .where(live, a.city.is_not(None))
    )
    found = union_all(*branches).subquery("found")
    return (
        select(
            found.c.a_id,
            found.c.b_id,
            *(func.max(found.c[k]).label(k) for k in IDENTIFIERS),
            func.max(found.c.score).label("score"),
        )
        .group_by(found.c.a_id, found.c.b_id)
        .subquery("pairs")
    )


def report_count() -> int:
    return db.session.scalar(select(func.count()).select_from(_pairs_subquery()))


def report_rows(page: int | None = None, per_page: int = 50) -> list[Pair]:
    """The pairs, identifier matches first, then same names; one statement."""
    pairs = _pairs_subquery()
    a, b = aliased(Organisation), aliased(Organisation)
    identified = sum(pairs.c[k] for k in IDENTIFIERS)
    query = (
        select(pairs, a.name, a.city, b.name.label("b_name"), b.city.label("b_city"))
        .join(a, a.id == pairs.c.a_id)
        .join(b, b.id == pairs.c.b_id)
        .order_by(identified.desc(), pairs.c.score.desc(), pairs.c.a_id, pairs.c.b_id)
    )
    if page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    out = []
    for row in db.session.execute(query):
        reasons = [str(SAME[key]) for key in IDENTIFIERS if row._mapping[key]]
        if row.score:
            reasons.append(str(SAME_IN_CITY))
        out.append(
            Pair(row.a_id, row.name, row.city, row.b_id, row.b_name, row.b_city, reasons, row.score)
        )
    return out
