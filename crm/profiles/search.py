"""Searching the published partner profiles of the whole alliance.

Free text over the folded ``search_text`` (name, city, region, capabilities,
keywords): every word of the query must be found, as written (accents and
case aside) or, on PostgreSQL, as a near word (pg_trgm ``<%``, word
similarity, served by the GIN index of migration 0012); SQLite falls back to
the word's first or last four letters. Ranked by how well the words match,
then by name. At most two statements a page: the count and the page, or, with
words to rank, one that does both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, literal, or_, select

from crm import regions
from crm.extensions import MAX_PAGE, bounded_arg, db
from crm.folding import fold
from crm.members.queries import Page
from crm.models import PartnerProfile
from crm.models.organisation import KINDS, SIZE_CLASSES
from crm.tenancy import current_tenant_id

MAX_WORDS = 8
PER_PAGE = 20


@dataclass
class ProfileFilters:
    """What the search shows, read leniently from the query string (an unknown
    value is dropped, never an error)."""

    q: str = ""
    kind: str = ""
    size: str = ""
    ecosystem: str = ""
    nace: str = ""
    country: str = ""
    region: str = ""
    programme: str = ""
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args) -> ProfileFilters:
        def code(name: str, length: int, upper: bool = True) -> str:
            value = "".join(ch for ch in (args.get(name) or "") if ch.isalnum() or ch in "_-")
            return (value.upper() if upper else value)[:length]

        def choice(name: str, allowed) -> str:
            value = (args.get(name) or "").strip()
            return value if value in allowed else ""

        page = bounded_arg(args, "page", 1, MAX_PAGE)
        return cls(
            q=(args.get("q") or "").strip()[:100],
            kind=choice("kind", KINDS),
            size=choice("size", SIZE_CLASSES),
            ecosystem=code("ecosystem", 40, upper=False),
            nace=code("nace", 1),
            # By name or code: "Polska", "PL"; "Łódzkie", "PL71" (crm.regions).
            country=regions.country_code(args.get("country")) or "",
            region=regions.region_code(args.get("region")) or "",
            programme=code("programme", 20, upper=False),
            page=page,
        )

    def args(self, **changes) -> dict:
        values = {**self.__dict__, **changes}
        values.pop("per_page")
        return {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _word_match(word: str, postgres: bool):
    text = PartnerProfile.search_text
    exact = text.contains(word, autoescape=True)
    if postgres:
        # ``word <% text``: some word of the text is close to ``word`` (typos).
        return or_(exact, literal(word).op("<%")(text))
    if len(word) >= 6:  # SQLite: a typo is forgiven outside the first or last four letters
        return or_(
            exact,
            text.contains(word[:4], autoescape=True),
            text.contains(word[-4:], autoescape=True),
        )
    return exact


def _score(words: list[str], postgres: bool):
    text = PartnerProfile.search_text
    name = func.lower(PartnerProfile.name)
    parts = []
    for word in words:
        if postgres:
            parts.append(func.word_similarity(word, text))
        else:
            parts.append(case((text.contains(word, autoescape=True), 1), else_=0))
        parts.append(case((name.contains(word, autoescape=True), 0.5), else_=0))
    return sum(parts[1:], parts[0])


def filtered(filters: ProfileFilters, query=None):
    """``query`` (all published profiles by default) narrowed by the filters."""
    query = select(PartnerProfile) if query is None else query
    conditions = {
        "kind": PartnerProfile.kind == filters.kind,
        "size": PartnerProfile.size_class == filters.size,
        "nace": PartnerProfile.nace_section == filters.nace,
        "country": PartnerProfile.country == filters.country,
        "region": PartnerProfile.nuts2 == filters.region,
        "ecosystem": PartnerProfile.ecosystem_codes.contains(
            f"|{filters.ecosystem}|", autoescape=True
        ),
        "programme": PartnerProfile.programme_codes.contains(
            f"|{filters.programme}|", autoescape=True
        ),
    }
    return query.where(*(cond for name, cond in conditions.items() if getattr(filters, name)))


def search(filters: ProfileFilters) -> Page:
    """A page of published profiles, best matches first; none without a tenant
    scope (the database lets the app role read them all: migration 0012)."""
    if current_tenant_id() is None:
        return Page(items=[], total=0, page=filters.page, per_page=filters.per_page)
    postgres = _postgres()
    words = fold(filters.q).split()[:MAX_WORDS]
    query = filtered(filters)
    query = query.where(*(_word_match(w, postgres) for w in words))
    offset = (filters.page - 1) * filters.per_page
    order = [PartnerProfile.name, PartnerProfile.id]
    if not words:  # the name index serves the order, so count and page apart
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = db.session.scalars(query.order_by(*order).limit(filters.per_page).offset(offset))
        return Page(items=list(items), total=total, page=filters.page, per_page=filters.per_page)
    # Ranking reads every match anyway: count them in the same pass (one trigram
    # search instead of two), and only count apart for a page past the last.
    rows = db.session.execute(
        query.add_columns(func.count().over().label("total"))
        .order_by(_score(words, postgres).desc(), *order)
        .limit(filters.per_page)
        .offset(offset)
    ).all()
    if rows:
        total = rows[0].total
    else:
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return Page(
        items=[row[0] for row in rows], total=total, page=filters.page, per_page=filters.per_page
    )


__all__ = ["ProfileFilters", "filtered", "search"]
