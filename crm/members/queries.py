"""Read queries of the members area: the directory, organisation pages, renewals, dashboard.

Every page runs a fixed number of statements whatever the page size or the
data: lists are one SELECT plus one count, and aggregates are GROUP BY
queries in the database. Tenant scoping is added automatically to ORM
entities (``crm.tenancy``); only a query that reads an association table on
its own (the dashboard's ecosystem counts) or the audit trail (not tenant-owned
ORM rows) names the tenant. Joins go through the models' relationships.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Float,
    Select,
    and_,
    collate,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import aliased

from crm import regions
from crm.collation import in_tenant_order
from crm.dialects import folded_matches, like_pattern, matches
from crm.exports import Export
from crm.exports import columns as export_columns
from crm.extensions import db
from crm.folding import fold
from crm.i18n import _l
from crm.models import (
    AssociationMembership,
    AuditEvent,
    ClusterMembership,
    Contact,
    Ecosystem,
    MembershipStatusChange,
    Organisation,
    Participation,
    Project,
    User,
    organisation_ecosystems,
)
from crm.models.membership import MEMBERSHIP_STATUSES
from crm.models.organisation import KINDS, SIZE_CLASSES
from crm.models.reference import ecosystem_label
from crm.segments.related import RelatedFilters
from crm.tenancy import current_tenant_id
from crm.validation import MAX_ID

# Sort keys of the directory -> (label, the columns they sort by, before the id).
# sort_name and sort_city are lower(name) and lower(city), generated columns
# (migration 0022), in the association's language's order (crm.collation). The
# name sort has a (tenant_id, sort_name COLLATE <language>, id) index per
# collation (migration 0030), so its keyset pages cost what the first costs;
# the others sort the association's matching rows (top-N).
SORTS = {
    "name": (_l("Name"), lambda: (in_tenant_order(Organisation.sort_name),)),
    "city": (_l("City"), lambda: (in_tenant_order(Organisation.sort_city),)),
    "kind": (_l("Kind"), lambda: (Organisation.kind, in_tenant_order(Organisation.sort_name))),
    "region": (_l("Region"), lambda: (Organisation.nuts2, in_tenant_order(Organisation.sort_name))),
    "created": (_l("Recently added"), lambda: ()),  # ids grow with time
}


# The renewal lists (crm.renewals), which the directory can also filter by.
RENEWAL_LISTS = {
    "overdue": _l("Overdue"),
    "due": _l("Due soon"),
    "lapsed": _l("Lapsed"),
    "applicants": _l("Applicants"),
}
NO_VALUE = "none"  # filter value for "size class unknown" / "no membership"
# Who the directory lists: the association's members (its own organisations, the
# default), the external partners recorded for consortia, or both.
RELATIONS = {"members": _l("Members"), "external": _l("External partners"), "all": _l("All")}
MAX_PER_PAGE = 200
MAX_SEARCH = 100  # characters of a search kept
# The identifier filter: recorded (or not) -> (label, column, recorded?).
IDENTIFIER_FILTERS = {
    "pic": (_l("With a PIC"), Organisation.pic, True),
    "no_pic": (_l("Without a PIC"), Organisation.pic, False),
    "vat": (_l("With a VAT number"), Organisation.vat_id, True),
    "no_vat": (_l("Without a VAT number"), Organisation.vat_id, False),
    "registration": (_l("With a registration number"), Organisation.registration_id, True),
    "lei": (_l("With an LEI"), Organisation.lei, True),
    "ror": (_l("With a ROR id"), Organisation.ror, True),
}


@dataclass
class DirectoryFilters:
    """What the directory shows, parsed leniently from query arguments
    (unknown values are dropped, never an error)."""

    q: str = ""
    kind: str = ""
    status: str = ""
    size: str = ""
    ecosystem: int | None = None
    region: str = ""
    cluster: int | None = None
    archived: bool = False
    relation: str = "members"
    identifier: str = ""
    # A renewal list (crm.renewals: overdue, due, lapsed, applicants) and, for
    # "due", its horizon in days: the directory of exactly that list, so it can be
    # tagged, saved as a segment or mailed like any directory view.
    renewal: str = ""
    renewal_days: int | None = None
    sort: str = "name"
    desc: bool = False
    page: int = 1
    per_page: int = 50
    # Keyset paging: the page after or before this organisation, or the last page.
    after: int | None = None
    before: int | None = None
    last: bool = False
    # Filters across related records (tag, contact role, programme): crm.segments.related.
    related: RelatedFilters = field(default_factory=RelatedFilters)

    @classmethod
    def from_args(cls, args, per_page: int = 50) -> DirectoryFilters:
        def integer(name, default=None, low=1, high=MAX_ID):
            try:
                value = int(args.get(name, ""))
            except ValueError:
                return default
            if value < low:
                return default
            return min(value, high)

        def choice(name, allowed):
            value = (args.get(name) or "").strip()
            return value if value in allowed else ""

        region = regions.region_prefix(args.get("region") or "") or ""
        sort = args.get("sort") or "name"
        return cls(
            q=(args.get("q") or "").strip()[:MAX_SEARCH],
            kind=choice("kind", KINDS),
            status=choice("status", [*MEMBERSHIP_STATUSES, NO_VALUE]),
            size=choice("size", [*SIZE_CLASSES, NO_VALUE]),
            ecosystem=integer("ecosystem"),
            region=region,
            cluster=integer("cluster"),
            archived=args.get("archived") == "1",
            relation=choice("relation", RELATIONS) or "members",
            identifier=choice("identifier", IDENTIFIER_FILTERS),
            renewal=choice("renewal", RENEWAL_LISTS),
            renewal_days=integer("days", high=366),
            sort=sort if sort in SORTS else "name",
            desc=args.get("dir") == "desc",
            page=integer("page", 1, high=1_000_000),
            per_page=integer("per_page", per_page, high=MAX_PER_PAGE),
            after=integer("after"),
            before=integer("before"),
            last=args.get("last") == "1",
            related=RelatedFilters.from_args(args),
        )

    def args(self, **changes) -> dict:
        """The query arguments that reproduce these filters (for links and exports)."""
        out = {
            "q": self.q,
            "kind": self.kind,
            "status": self.status,
            "size": self.size,
            "ecosystem": self.ecosystem,
            "region": self.region,
            "cluster": self.cluster,
            "archived": "1" if self.archived else None,
            "relation": None if self.relation == "members" else self.relation,
            "identifier": self.identifier,
            "renewal": self.renewal,
            "days": self.renewal_days if self.renewal == "due" else None,
            "sort": None if self.sort == "name" else self.sort,
            "dir": "desc" if self.desc else None,
            **self.related.args(),
        }
        out.update(changes)
        return {k: v for k, v in out.items() if v not in (None, "")}

    @property
    def active(self) -> bool:
        return bool(
            self.q
            or self.kind
            or self.status
            or self.size
            or self.ecosystem
            or self.region
            or self.cluster
            or self.archived
            or self.relation != "members"
            or self.identifier
            or self.renewal
            or self.related.active
        )


def _search_condition(q: str, indexed: bool = True):
    """Name (substring), city or registration id (prefix), case and accents aside:
    the folded columns ``search_name`` and ``search_city`` (migration 0029)
    against the folded query, the same on PostgreSQL and SQLite.

    On PostgreSQL, row-level security keeps operators that are not leakproof,
    such as LIKE, out of index conditions: as a filter this reads every entry of
    the name sort index (which INCLUDEs the folded name and city and the
    registration id). So a search of three folded characters or more takes its
    ids from the trigram indexes instead (``_search_ids``), unless ``indexed`` is
    False. Typos are handled by ``_closest`` when nothing matches.
    """
    identifiers = _identifier_conditions(q)
    if indexed and not identifiers and _indexed_search(q):
        return Organisation.id.in_(select(_search_ids(q)))
    return or_(
        folded_matches(Organisation.search_name, q),
        folded_matches(Organisation.search_city, q, anywhere=False),
        matches(Organisation.registration_id, q, anywhere=False),
        *identifiers,
    )


INDEXED_SEARCH_MIN = 3  # folded characters: a trigram at least


def _indexed_search(q: str) -> bool:
    """Whether the search goes through ``organisation_search_ids`` (PostgreSQL, in an
    association's scope, a folded query of a trigram at least). A search with a
    digit (an identifier, its equalities) and shorter ones keep the filter scan."""
    return (
        _dialect() == "postgresql"
        and current_tenant_id() is not None
        and len(fold(q)) >= INDEXED_SEARCH_MIN
    )


def _search_ids(q: str):
    """The ids of the association's organisations that the search finds, from the
    trigram indexes (migration 0031): the same three LIKE patterns as the filter
    scan, read by a definer function whose owner bypasses row-level security, so
    the indexes may serve them. The directory joins these ids to organisations read
    under RLS: the tenant is checked on every row again."""
    name, city, registration = (
        like_pattern(fold(q)),
        like_pattern(fold(q), anywhere=False),
        like_pattern(q.lower(), anywhere=False),
    )
    return func.organisation_search_ids(name, city, registration).column_valued("id")


_SEPARATORS = re.compile(r"[\s.\-/]")


def _identifier_conditions(q: str) -> list:
    """A PIC, VAT number, LEI or registry number typed in the search box, in any
    spelling (spaces, dots, dashes, lower case), finds its organisation: equality with
    the stored compact form, only for a search shaped like one (no cost otherwise)."""
    compact = _SEPARATORS.sub("", q).upper()
    if not any(ch.isdigit() for ch in compact):
        return []
    conditions = [Organisation.registration_id == compact]
    if re.fullmatch(r"\d{9}", compact):
        conditions.append(Organisation.pic == compact)
    if re.fullmatch(r"[A-Z]{2}[0-9A-Z]{2,14}", compact):
        conditions.append(Organisation.vat_id == compact)
    if re.fullmatch(r"[0-9A-Z]{18}\d{2}", compact):
        conditions.append(Organisation.lei == compact)
    return conditions


def _renewal_list(filters: DirectoryFilters) -> Select:
    """The organisation ids of one renewal list, by the renewal pages' own rule."""
    from crm.renewals.queries import DEFAULT_DAYS, memberships

    days = filters.renewal_days or DEFAULT_DAYS
    chosen = memberships(current_tenant_id(), filters.renewal, date.today(), days)
    return chosen.with_only_columns(AssociationMembership.organisation_id)


def _filtered(filters: DirectoryFilters, columns, indexed_search: bool = True) -> Select:
    query = select(*columns).select_from(Organisation)
    needs_membership = filters.status or any(
        getattr(c, "table", None) is AssociationMembership.__table__ for c in columns
    )
    if needs_membership:
        query = query.outerjoin(Organisation.membership)
    # "= false", not "IS false": the partial indexes of migration 0004 say "= false".
    query = query.where(Organisation.archived == (true() if filters.archived else false()))
    if filters.relation != "all":
        query = query.where(Organisation.is_external == (filters.relation == "external"))
    if filters.q:
        query = query.where(_search_condition(filters.q, indexed_search))
    if filters.kind:
        query = query.where(Organisation.kind == filters.kind)
    if filters.identifier:
        _, column, recorded = IDENTIFIER_FILTERS[filters.identifier]
        query = query.where(column.is_not(None) if recorded else column.is_(None))
    if filters.renewal:
        query = query.where(Organisation.id.in_(_renewal_list(filters)))
    if filters.status == NO_VALUE:
        query = query.where(AssociationMembership.id.is_(None))
    elif filters.status:
        query = query.where(AssociationMembership.status == filters.status)
    if filters.size == NO_VALUE:
        query = query.where(Organisation.size_class.is_(None))
    elif filters.size:
        query = query.where(Organisation.size_class == filters.size)
    if filters.region:
        query = query.where(_region_condition(filters.region))
    if filters.ecosystem:
        oe = organisation_ecosystems.c
        query = query.where(
            exists().where(
                oe.tenant_id == Organisation.tenant_id,
                oe.organisation_id == Organisation.id,
                oe.ecosystem_id == filters.ecosystem,
            )
        )
    if filters.cluster:
        query = query.where(
            exists().where(
                ClusterMembership.tenant_id == Organisation.tenant_id,
                ClusterMembership.member_id == Organisation.id,
                ClusterMembership.cluster_id == filters.cluster,
            )
        )
    return filters.related.apply(query, Organisation)


def _region_condition(region: str):
    """The NUTS code starts with ``region`` (upper-case letters and digits). On
    PostgreSQL a range in code point order (collation "C"): a comparison, which the
    planner estimates from the (tenant, region) statistics of migration 0031, so
    it reads a filtered page from the name index in order and stops at the page's
    end; a LIKE was estimated as if every association had every region."""
    if _dialect() != "postgresql":
        return Organisation.nuts2.like(f"{region}%")
    code = collate(Organisation.nuts2, "C")
    return and_(code >= region, code < region[:-1] + chr(ord(region[-1]) + 1))


DIRECTORY_COLUMNS = (
    Organisation.id,
    Organisation.name,
    Organisation.kind,
    Organisation.city,
    Organisation.country,
    Organisation.nuts2,
    Organisation.registration_id,
    Organisation.size_class,
    Organisation.archived,
    Organisation.is_external,
    AssociationMembership.status,
    AssociationMembership.paid_until,
)


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    fuzzy: bool = False
    pages: int = field(init=False)

    def __post_init__(self):
        self.pages = max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _count(filters: DirectoryFilters) -> int:
    return db.session.scalar(_filtered(filters, [func.count(Organisation.id)]))


FUZZY_LIMIT = 50
FUZZY_MAX_DISTANCE = 0.4  # word similarity of at least 0.6, pg_trgm's default threshold


def _fuzzy_search(filters: DirectoryFilters, dialect: str) -> bool:
    """Whether a search that finds nothing falls back to the closest names (pg_trgm:
    PostgreSQL only), whatever its length."""
    return dialect == "postgresql" and bool(fold(filters.q))


def _rows_of(ids, columns) -> Select:
    """``columns`` of the organisations whose ids ``ids`` (a subquery) lists."""
    return (
        select(*columns)
        .select_from(Organisation)
        .join(ids, ids.c.id == Organisation.id)
        .outerjoin(Organisation.membership)
    )


def _closest(filters: DirectoryFilters, columns) -> Select:
    """``columns`` of the names closest to the search (other filters kept), closest
    first, at most FUZZY_LIMIT and none further than FUZZY_MAX_DISTANCE.

    A nearest-neighbour scan of the GiST trigram index ``(tenant_id,
    search_name)`` (the folded name, migration 0029): an ORDER BY is not a
    filter, so row-level security lets the index drive it, and only the closest
    rows are read.
    """
    distance = literal(fold(filters.q)).op("<<->", return_type=Float)(Organisation.search_name)
    ids = (
        _filtered(replace(filters, q=""), [Organisation.id, distance.label("distance")])
        .order_by(distance)
        .limit(FUZZY_LIMIT)
        .subquery("fuzzy_ids")
    )
    return (
        _rows_of(ids, columns)
        .where(ids.c.distance <= FUZZY_MAX_DISTANCE)
        .order_by(ids.c.distance, func.lower(Organisation.name), Organisation.id)
    )


# The directory's total is counted up to COUNT_CAP matches (the page then says "more
# than 10,000"): a count of every match would read the whole association on every page.
COUNT_CAP = 10_000
# A page filtered otherwise than by a search counts its matches up to this many
# only: each match is found by reading past the rows that fail the filters, so a
# higher cap reads a larger part of the association (measured: docs/members.md).
FILTERED_COUNT_CAP = 200
# Numbered pages (``?page=N``) may skip this many rows; the pager's links beyond the
# numbered pages are keyset links (``?after=<id>``), whose cost does not depend on depth.
OFFSET_MAX = 5_000
# Sorts whose first key may be empty (no city, no region): empty values come last.
NULLABLE_SORTS = {"city", "region"}


@dataclass
class DirectoryPage(Page):
    """A page of the directory: numbered (``page``), or reached from a neighbouring
    row (keyset: its number is unknown). ``exact`` is False when ``total`` is the cap."""

    exact: bool = True
    numbered: bool = True
    more_before: bool = False
    more_after: bool = False

    @property
    def next_numbered(self) -> bool:
        """Whether the next page is linked by its number (it skips at most OFFSET_MAX)."""
        return self.numbered and self.page * self.per_page <= OFFSET_MAX

    @property
    def first_id(self) -> int | None:
        return self.items[0].id if self.items else None

    @property
    def last_id(self) -> int | None:
        return self.items[-1].id if self.items else None


def _order(filters: DirectoryFilters, reverse: bool = False) -> list:
    """ORDER BY of the directory (``reverse``: read backwards). Ascending puts empty
    values last; descending is its exact reverse (empty values first), so both read
    the same ascending index, forwards or backwards."""
    keys = SORTS[filters.sort][1]()
    if filters.desc != reverse:
        return [*(k.desc().nulls_first() for k in keys), Organisation.id.desc()]
    return [*(k.asc().nulls_last() for k in keys), Organisation.id]


def _ordered(query: Select, filters: DirectoryFilters, reverse: bool = False) -> Select:
    return query.order_by(*_order(filters, reverse))


def _sort_values(filters: DirectoryFilters, org_id: int):
    """The sort keys and id of organisation ``org_id`` (a keyset cursor), or None
    when it is not the association's (scoping applies) or no longer exists."""
    keys = [*SORTS[filters.sort][1](), Organisation.id]
    return db.session.execute(select(*keys).where(Organisation.id == org_id)).first()


def _beyond(filters: DirectoryFilters, values, reverse: bool):
    """The rows after ``values`` (sort keys and id) in the directory's order, or
    before them when ``reverse``. A row comparison, so PostgreSQL reads the sort
    index from the cursor on (its operators are leakproof: row-level security
    lets them be index conditions). Only the first key can be empty."""
    keys = [*SORTS[filters.sort][1](), Organisation.id]
    backwards = filters.desc != reverse  # empty values first

    def later(columns, bound):
        return tuple_(*columns) < tuple_(*bound) if backwards else tuple_(*columns) > tuple_(*bound)

    if filters.sort not in NULLABLE_SORTS:
        return later(keys, values)
    first, rest = keys[0], keys[1:]
    if values[0] is None:
        among_empty = and_(first.is_(None), later(rest, values[1:]))
        return or_(among_empty, first.is_not(None)) if backwards else among_empty
    return later(keys, values) if backwards else or_(later(keys, values), first.is_(None))


def _count_cap(filters: DirectoryFilters) -> int:
    """How far the total is counted: COUNT_CAP, FILTERED_COUNT_CAP for a filtered
    page (a search counts its matches exactly, in its own scan)."""
    return FILTERED_COUNT_CAP if filters.active and not filters.q else COUNT_CAP


def _capped_count(filters: DirectoryFilters):
    """How many organisations match, counted up to the cap + 1 (a subquery)."""
    cap = _count_cap(filters)
    firsts = _filtered(filters, [Organisation.id]).limit(cap + 1).subquery("firsts")
    return select(func.count()).select_from(firsts).scalar_subquery()


def _rows(filters: DirectoryFilters, *extra, condition=None, reverse=False, offset=0) -> list:
    """Up to a page and one row (whether more follow) from ``offset`` or a keyset
    ``condition`` on (``reverse``: backwards), in the order read.

    Deferred join: the page's ids come from the narrow sort index alone (an
    index-only scan on PostgreSQL); only the page's rows are joined and read.
    """
    query = _filtered(filters, [Organisation.id])
    if condition is not None:
        query = query.where(condition)
    ids = (
        _ordered(query, filters, reverse)
        .limit(filters.per_page + 1)
        .offset(offset)
        .subquery("page_ids")
    )
    return db.session.execute(
        _ordered(_rows_of(ids, [*DIRECTORY_COLUMNS, *extra]), filters, reverse)
    ).all()


def _keyset_rows(filters: DirectoryFilters, condition, reverse: bool) -> tuple[list, bool, int]:
    """A page from a keyset ``condition`` on (None: from the start; ``reverse``:
    backwards, returned in the directory's order), whether more follow in that
    direction, and the capped total: one statement."""
    rows = _rows(
        filters, _capped_count(filters).label("total"), condition=condition, reverse=reverse
    )
    more = len(rows) > filters.per_page
    rows = rows[: filters.per_page]
    if reverse:
        rows.reverse()
    return rows, more, rows[0].total if rows else 0


def _searched_rows(filters: DirectoryFilters, page: int) -> tuple[list, int]:
    """A search's numbered page and its total in one statement: its LIKE is a
    filter over every index entry of the association anyway (row-level security),
    so the matches are counted in that same scan (a window count) rather than
    by a second one."""
    ids = (
        _ordered(_filtered(filters, [Organisation.id, func.count().over().label("total")]), filters)
        .limit(filters.per_page)
        .offset((page - 1) * filters.per_page)
        .subquery("page_ids")
    )
    rows = db.session.execute(
        _ordered(_rows_of(ids, [*DIRECTORY_COLUMNS, ids.c.total]), filters)
    ).all()
    return rows, rows[0].total if rows else 0


def _numbered_rows(filters: DirectoryFilters, page: int) -> tuple[list, int]:
    """Numbered page ``page`` and the capped total. A first page that is not full
    holds every match (one statement); otherwise a second statement counts (up to
    the cap). A search counts in its own scan. Past the end: no rows."""
    if filters.q:
        return _searched_rows(filters, page)
    rows = _rows(filters, offset=(page - 1) * filters.per_page)
    if page == 1 and len(rows) <= filters.per_page:
        return rows, len(rows)
    total = db.session.scalar(select(_capped_count(filters))) if rows else 0
    return rows[: filters.per_page], total


def _page(rows, total: int, cap: int = COUNT_CAP, **fields) -> DirectoryPage:
    exact = total <= cap
    return DirectoryPage(items=rows, total=min(total, cap), exact=exact, **fields)


def directory_page(filters: DirectoryFilters) -> DirectoryPage:
    """One page of the directory and its total (counted up to a cap): at most two
    statements, and their cost does not grow with the association's size.

    Numbered pages skip at most OFFSET_MAX rows; ``after``/``before`` a row (the
    pager's Next and Previous) and ``last`` read the sort index from that point.
    A cursor that is not the association's row shows the first page; a page past
    the end shows the last page. When a search finds nothing (PostgreSQL), a
    second statement lists the closest names instead, on one page.
    """
    per_page, cap = filters.per_page, _count_cap(filters)
    if filters.after or filters.before:
        reverse = not filters.after
        values = _sort_values(filters, filters.after or filters.before)
    else:
        reverse, values = True, None  # the last page: backwards from the end
    if values is not None or filters.last:
        condition = _beyond(filters, values, reverse) if values is not None else None
        rows, more, total = _keyset_rows(filters, condition, reverse)
        # Back at the start with less than a page: show the (full) first page instead.
        if rows and not (reverse and not more and len(rows) < per_page):
            return _page(
                rows, total, cap, page=0, per_page=per_page, numbered=False,
                more_before=more if reverse else True,
                more_after=values is not None if reverse else more,
            )  # fmt: skip
        filters = replace(filters, page=1)  # nothing beyond the cursor, or back at the start
    page = filters.page if (filters.page - 1) * per_page <= OFFSET_MAX else 0
    rows, total = _numbered_rows(filters, page) if page else ([], 0)
    if not rows and page != 1:  # past the end (or too deep to number): the last page
        total = db.session.scalar(select(_capped_count(filters)))
        last = math.ceil(total / per_page)
        if total and total <= cap and (last - 1) * per_page <= OFFSET_MAX:
            page = last
            rows, total = _numbered_rows(filters, page)
        elif total:
            rows, more, total = _keyset_rows(filters, None, reverse=True)
            return _page(
                rows, total, cap, page=0, per_page=per_page, numbered=False, more_before=more
            )
    if total == 0 and _fuzzy_search(filters, _dialect()):
        rows = db.session.execute(_closest(filters, DIRECTORY_COLUMNS)).all()
        return _page(rows, len(rows), page=1, per_page=FUZZY_LIMIT, fuzzy=True)
    page = max(page, 1)
    return _page(
        rows, total, cap, page=page, per_page=per_page,
        more_before=page > 1, more_after=page * per_page < total,
    )  # fmt: skip


SUGGESTIONS = 8


def suggestions(q: str) -> tuple[list, bool]:
    """What the directory's search box suggests as ``q`` is typed: up to SUGGESTIONS
    current members (id, name, city) that the search finds, by name, from the same
    index-only scan as the directory; when it finds none (PostgreSQL), the closest
    names. Returns the rows and whether they are the closest names: one statement,
    two when nothing matches."""
    filters = DirectoryFilters(q=q, per_page=SUGGESTIONS)
    columns = (Organisation.id, Organisation.name, Organisation.city)
    ids = (
        # The filter scan, not the trigram indexes: read in name order, it stops at
        # the eighth match, where the indexes would read every match of a few letters.
        _ordered(_filtered(filters, [Organisation.id], indexed_search=False), filters)
        .limit(SUGGESTIONS)
        .subquery("suggested_ids")
    )
    rows = db.session.execute(_ordered(_rows_of(ids, columns), filters)).all()
    if rows or not _fuzzy_search(filters, _dialect()):
        return rows, False
    return db.session.execute(_closest(filters, columns).limit(SUGGESTIONS)).all(), True


_oe = organisation_ecosystems.c

# The directory's export; ecosystems are aggregated in SQL (one string per row).
EXPORT: Export = [
    ("id", Organisation.id),
    ("name", Organisation.name),
    ("legal_name", Organisation.legal_name),
    ("kind", Organisation.kind),
    ("registration_id", Organisation.registration_id),
    ("vat_id", Organisation.vat_id),
    ("country", Organisation.country),
    ("nuts2", Organisation.nuts2),
    ("nuts_revision", Organisation.nuts_revision),
    ("city", Organisation.city),
    ("website", Organisation.website),
    ("nace", Organisation.nace),
    ("nace_revision", Organisation.nace_revision),
    ("employees", Organisation.employees),
    ("turnover_eur", Organisation.turnover_eur),
    ("balance_sheet_eur", Organisation.balance_sheet_eur),
    ("size_class", Organisation.size_class),
    ("membership_status", AssociationMembership.status),
    ("joined_on", AssociationMembership.joined_on),
    ("fee_tier", AssociationMembership.fee_tier),
    ("paid_until", AssociationMembership.paid_until),
    (
        "ecosystems",
        select(func.aggregate_strings(Ecosystem.name, "; "))
        .select_from(organisation_ecosystems)
        .join(Ecosystem, Ecosystem.id == _oe.ecosystem_id)
        .where(_oe.tenant_id == Organisation.tenant_id, _oe.organisation_id == Organisation.id)
        .scalar_subquery(),
    ),
    ("archived", Organisation.archived),
    ("external_partner", Organisation.is_external),
    ("pic", Organisation.pic),
    ("lei", Organisation.lei),
    ("ror", Organisation.ror),
]


def directory_count(filters: DirectoryFilters) -> int:
    """How many organisations the filtered directory holds (an export's size)."""
    return _count(filters)


def directory_ids(filters: DirectoryFilters) -> Select:
    """A SELECT of the ids the filtered directory holds (``crm.segments.queries``)."""
    return _filtered(filters, [Organisation.id])


def directory_export_rows(filters: DirectoryFilters):
    """Every row of the filtered directory (no paging), ecosystems aggregated in SQL;
    for a search that finds nothing, the closest names, as the directory shows them."""
    columns = export_columns(EXPORT)
    if _fuzzy_search(filters, _dialect()) and _count(filters) == 0:
        query = _closest(filters, columns)
    else:
        query = _ordered(_filtered(filters, columns), filters)
    return db.session.execute(query.execution_options(yield_per=2000))


# -- organisation page -----------------------------------------------------


def organisation_or_none(org_id: int) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.id == org_id))


def membership_of(org_id: int) -> AssociationMembership | None:
    return db.session.scalar(
        select(AssociationMembership).where(AssociationMembership.organisation_id == org_id)
    )


def status_history(membership_id: int) -> list:
    return db.session.execute(
        select(MembershipStatusChange, User.name)
        .outerjoin(User, User.id == MembershipStatusChange.changed_by_id)
        .where(MembershipStatusChange.membership_id == membership_id)
        .order_by(MembershipStatusChange.effective_on.desc(), MembershipStatusChange.id.desc())
    ).all()


def clusters_of(org_id: int) -> list:
    cluster = aliased(Organisation)
    return db.session.execute(
        select(cluster.id, cluster.name, ClusterMembership.since, ClusterMembership.until)
        .select_from(ClusterMembership)
        .join(ClusterMembership.cluster.of_type(cluster))
        .where(ClusterMembership.member_id == org_id)
        .order_by(func.lower(cluster.name))
    ).all()


CLUSTER_MEMBERS_SHOWN = 100


def _by_kind_and_size(counts) -> tuple[dict[str, int], dict[str, int]]:
    """``(kind, size_class, n)`` rows -> counts by kind, and firms' counts by size class."""
    by_kind: dict[str, int] = {}
    by_size: dict[str, int] = {}
    for kind, size, n in counts:
        by_kind[kind] = by_kind.get(kind, 0) + n
        if kind == "firm":
            by_size[size or NO_VALUE] = by_size.get(size or NO_VALUE, 0) + n
    return by_kind, by_size


def cluster_summary(cluster_id: int) -> dict:
    """A cluster's members (first 100 by name), their total and counts by kind and size."""
    member = aliased(Organisation)
    joined = (
        select()
        .select_from(ClusterMembership)
        .join(ClusterMembership.member.of_type(member))
        .where(ClusterMembership.cluster_id == cluster_id, member.archived == false())
    )
    counts = db.session.execute(
        joined.add_columns(member.kind, member.size_class, func.count()).group_by(
            member.kind, member.size_class
        )
    ).all()
    by_kind, by_size = _by_kind_and_size(counts)
    rows = db.session.execute(
        joined.add_columns(member.id, member.name, member.kind, member.size_class, member.city)
        .order_by(func.lower(member.name), member.id)
        .limit(CLUSTER_MEMBERS_SHOWN)
    ).all()
    return {
        "rows": rows,
        "total": sum(by_kind.values()),
        "by_kind": by_kind,
        "by_size": by_size,
    }


def contacts_of(org_id: int) -> list[Contact]:
    return db.session.scalars(
        select(Contact)
        .where(Contact.organisation_id == org_id)
        .order_by(Contact.is_primary.desc(), Contact.erased_at.is_not(None), Contact.last_name)
    ).all()


def participations_of(org_id: int) -> list:
    return db.session.execute(
        select(
            Project.id,
            Project.acronym,
            Project.title,
            Project.programme_code,
            Project.status,
            Participation.role,
            Participation.budget_share,
        )
        .join(Participation.project)
        .where(Participation.organisation_id == org_id)
        .order_by(Project.start_date.desc().nulls_last(), Project.id.desc())
    ).all()


AUDIT_SHOWN = 50


def audit_history(tenant_id: int, entity_type: str, entity_id: int, also=()) -> list:
    """The latest audit events of one record, and of the records ``also`` names (those
    merged into it); audit events are filtered by hand: they are not tenant-owned ORM rows."""
    return db.session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.entity_type == entity_type,
            AuditEvent.entity_id.in_([entity_id, *also]),
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_SHOWN)
    ).all()


def merged_into(org_id: int) -> list:
    """The organisations merged into this one (crm.merge), their audit trails kept."""
    return db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.merged_into_id == org_id)
        .order_by(Organisation.id)
    ).all()


def cluster_ids_of(org_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(ClusterMembership.cluster_id).where(ClusterMembership.member_id == org_id)
        )
    )


# -- dashboard -------------------------------------------------------------


def not_archived(tenant_id, organisation_id):
    """The organisation (given by the row's columns) is a current member: not
    archived, not an external partner. An anti-join with the few archived ones
    (partial index) and the external partners, not a join of every organisation."""
    return ~exists(
        select(Organisation.id).where(
            Organisation.tenant_id == tenant_id,
            Organisation.id == organisation_id,
            or_(Organisation.archived == true(), Organisation.is_external == true()),
        )
    )


def current_memberships(*columns) -> Select:
    """``columns`` over the memberships of organisations that are not archived."""
    m = AssociationMembership
    return select(*columns).select_from(m).where(not_archived(m.tenant_id, m.organisation_id))


def dashboard_figures(tenant_id: int, today: date) -> dict:
    """The dashboard's figures: six statements whatever the data."""
    # Imported here: the renewals queries build on this module's pieces.
    from crm.renewals import queries as renewals

    by_kind, by_size = _by_kind_and_size(
        db.session.execute(
            select(Organisation.kind, Organisation.size_class, func.count())
            .where(Organisation.archived == false(), Organisation.is_external == false())
            .group_by(Organisation.kind, Organisation.size_class)
        )
    )
    total = sum(by_kind.values())
    # Memberships by status, with the renewal lists' sizes and the fees
    # outstanding, in one statement (grouped by fee currency too, to sum fees
    # per currency); an organisation has at most one membership, so the rest
    # have none.
    by_status: dict[str, int] = {}
    lists = renewals.LISTS
    sizes = dict.fromkeys(lists, 0)
    outstanding: dict[str, Decimal] = {}
    overdue_without_fee = 0
    for row in db.session.execute(
        current_memberships(
            AssociationMembership.status,
            AssociationMembership.fee_currency,
            func.count().label("n"),
            *renewals.count_columns(today),
            *renewals.outstanding_columns(today),
        ).group_by(AssociationMembership.status, AssociationMembership.fee_currency)
    ):
        by_status[row.status] = by_status.get(row.status, 0) + row.n
        for which in lists:
            sizes[which] += row._mapping[which]
        if row.outstanding is not None:
            owed = outstanding.get(row.fee_currency, Decimal(0)) + Decimal(row.outstanding)
            outstanding[row.fee_currency] = owed
        overdue_without_fee += row.overdue_without_fee
    by_status[NO_VALUE] = total - sum(by_status.values())
    # Rows of organisation_ecosystems of current organisations: an index-only
    # scan. The association table is not an ORM entity, so its tenant is named.
    oe = organisation_ecosystems.c
    counts = (
        select(oe.ecosystem_id, func.count().label("n"))
        .where(oe.tenant_id == tenant_id, not_archived(oe.tenant_id, oe.organisation_id))
        .group_by(oe.ecosystem_id)
        .subquery()
    )
    by_ecosystem = [
        (id_, ecosystem_label(code, name), n)
        for id_, code, name, n in db.session.execute(
            select(Ecosystem.id, Ecosystem.code, Ecosystem.name, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.ecosystem_id == Ecosystem.id)
            .order_by(Ecosystem.id)
        )
    ]
    recent = db.session.execute(
        select(MembershipStatusChange, Organisation.id, Organisation.name)
        .select_from(AssociationMembership)
        .join(AssociationMembership.history)
        .join(AssociationMembership.organisation)
        .order_by(MembershipStatusChange.id.desc())  # newest recorded first
        .limit(10)
    ).all()
    return {
        "total": total,
        "by_kind": by_kind,
        "by_size": by_size,
        "by_status": by_status,
        "by_ecosystem": by_ecosystem,
        "renewals": sizes,
        # Not yet due, soonest first (the overdue ones have their own figure and list).
        "due_soon": renewals.page(
            tenant_id, renewals.Selection("due"), today, 1, 10, total=sizes["due"]
        ),
        "recent": recent,
        "received": renewals.received_in_year(today),
        "outstanding": dict(sorted(outstanding.items())),
        "overdue_without_fee": overdue_without_fee,
    }
