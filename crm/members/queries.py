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
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import Float, Select, and_, exists, false, func, literal, or_, select, true
from sqlalchemy.orm import aliased

from crm.dialects import matches
from crm.exports import Export
from crm.exports import columns as export_columns
from crm.extensions import db
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
from crm.validation import MAX_ID

# Sort keys of the directory -> (label, the expressions they sort by, before the id).
# Each has a matching partial (tenant_id, <expressions>, id) index (migration 0004).
SORTS = {
    "name": ("Name", lambda: (func.lower(Organisation.name),)),
    "city": ("City", lambda: (func.lower(Organisation.city),)),
    "kind": ("Kind", lambda: (Organisation.kind, func.lower(Organisation.name))),
    "region": ("Region", lambda: (Organisation.nuts2, func.lower(Organisation.name))),
    "created": ("Recently added", lambda: ()),  # ids grow with time
}
NO_VALUE = "none"  # filter value for "size class unknown" / "no membership"
# Who the directory lists: the association's members (its own organisations, the
# default), the external partners recorded for consortia, or both.
RELATIONS = {"members": "Members", "external": "External partners", "all": "All"}
MAX_PER_PAGE = 200
# The identifier filter: recorded (or not) -> (label, column, recorded?).
IDENTIFIER_FILTERS = {
    "pic": ("With a PIC", Organisation.pic, True),
    "no_pic": ("Without a PIC", Organisation.pic, False),
    "vat": ("With a VAT number", Organisation.vat_id, True),
    "no_vat": ("Without a VAT number", Organisation.vat_id, False),
    "registration": ("With a registration number", Organisation.registration_id, True),
    "lei": ("With an LEI", Organisation.lei, True),
    "ror": ("With a ROR id", Organisation.ror, True),
}
RENEWAL_WINDOW_DAYS = 30


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
    sort: str = "name"
    desc: bool = False
    page: int = 1
    per_page: int = 50

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

        region = "".join(ch for ch in (args.get("region") or "").upper() if ch.isalnum())[:4]
        sort = args.get("sort") or "name"
        return cls(
            q=(args.get("q") or "").strip()[:100],
            kind=choice("kind", KINDS),
            status=choice("status", [*MEMBERSHIP_STATUSES, NO_VALUE]),
            size=choice("size", [*SIZE_CLASSES, NO_VALUE]),
            ecosystem=integer("ecosystem"),
            region=region,
            cluster=integer("cluster"),
            archived=args.get("archived") == "1",
            relation=choice("relation", RELATIONS) or "members",
            identifier=choice("identifier", IDENTIFIER_FILTERS),
            sort=sort if sort in SORTS else "name",
            desc=args.get("dir") == "desc",
            page=integer("page", 1, high=1_000_000),
            per_page=integer("per_page", per_page, high=MAX_PER_PAGE),
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
            "sort": None if self.sort == "name" else self.sort,
            "dir": "desc" if self.desc else None,
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
        )


def _search_condition(q: str):
    """Name (substring), city or registration id (prefix), case-insensitive.

    On PostgreSQL, row-level security keeps operators that are not leakproof,
    such as LIKE, out of index conditions: this is a filter over the tenant's
    rows, read from an index-only scan of the name index, which carries the
    three lower-cased values (migration 0004). Typos are handled by
    ``_closest`` when nothing matches. SQLite: the same LIKE, with a ``lower``
    for every alphabet (``crm.dialects.matches``).
    """
    return or_(
        matches(Organisation.name, q),
        matches(Organisation.city, q, anywhere=False),
        matches(Organisation.registration_id, q, anywhere=False),
    )


def _filtered(filters: DirectoryFilters, columns) -> Select:
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
        query = query.where(_search_condition(filters.q))
    if filters.kind:
        query = query.where(Organisation.kind == filters.kind)
    if filters.identifier:
        _, column, recorded = IDENTIFIER_FILTERS[filters.identifier]
        query = query.where(column.is_not(None) if recorded else column.is_(None))
    if filters.status == NO_VALUE:
        query = query.where(AssociationMembership.id.is_(None))
    elif filters.status:
        query = query.where(AssociationMembership.status == filters.status)
    if filters.size == NO_VALUE:
        query = query.where(Organisation.size_class.is_(None))
    elif filters.size:
        query = query.where(Organisation.size_class == filters.size)
    if filters.region:
        query = query.where(Organisation.nuts2.like(f"{filters.region}%"))
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
    return query


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


def _ordered(query: Select, filters: DirectoryFilters) -> Select:
    """Ascending puts empty values last; descending is its exact reverse (empty
    values first), so both read the same ascending index, forwards or backwards."""
    keys = SORTS[filters.sort][1]()
    if filters.desc:
        return query.order_by(*(k.desc().nulls_first() for k in keys), Organisation.id.desc())
    return query.order_by(*(k.asc().nulls_last() for k in keys), Organisation.id)


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
    """Whether a search that finds nothing falls back to the closest names."""
    return dialect == "postgresql" and len(filters.q) >= 3


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
    lower(name))`` of migration 0004: an ORDER BY is not a filter, so
    row-level security lets the index drive it, and only the closest rows
    are read.
    """
    distance = literal(filters.q.lower()).op("<<->", return_type=Float)(
        func.lower(Organisation.name)
    )
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


def _page_rows(filters: DirectoryFilters, page: int) -> tuple[list, int]:
    """The rows of one page and the total, in one statement.

    Deferred join: the page's ids come from the narrow sort index alone (an
    index-only scan on PostgreSQL, cheap even at a deep OFFSET), with the
    total as a window count over the same scan; only the page's rows are
    joined and read. A page past the end has no rows, hence no total (0).
    """
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


def directory_page(filters: DirectoryFilters) -> Page:
    """One page of the directory and its total: one statement.

    A page past the end shows the last page (a count, then that page). When a
    search finds nothing (PostgreSQL), a second statement lists the closest
    names instead, on one page.
    """
    page = filters.page
    rows, total = _page_rows(filters, page)
    if not rows and page > 1:
        total = _count(filters)
        page = max(1, math.ceil(total / filters.per_page))
        if total:
            rows, total = _page_rows(filters, page)
    if total == 0 and _fuzzy_search(filters, _dialect()):
        rows = db.session.execute(_closest(filters, DIRECTORY_COLUMNS)).all()
        return Page(items=rows, total=len(rows), page=1, per_page=FUZZY_LIMIT, fuzzy=True)
    return Page(items=rows, total=total, page=page, per_page=filters.per_page)


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
    ("city", Organisation.city),
    ("website", Organisation.website),
    ("nace", Organisation.nace),
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


def directory_organisation_ids(filters: DirectoryFilters) -> Select:
    """The ids of the organisations the filtered directory holds, as a subquery
    for other areas (a mailing's audience); no paging, no fuzzy fallback."""
    return _filtered(filters, (Organisation.id,))


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


def audit_history(tenant_id: int, entity_type: str, entity_id: int) -> list:
    """The latest audit events of one record (audit events are filtered by hand:
    they are not tenant-owned ORM rows)."""
    return db.session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.entity_type == entity_type,
            AuditEvent.entity_id == entity_id,
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_SHOWN)
    ).all()


def cluster_ids_of(org_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(ClusterMembership.cluster_id).where(ClusterMembership.member_id == org_id)
        )
    )


# -- membership lists and dashboard ---------------------------------------

RENEWAL_LISTS = {
    "due": "Renewal due",
    "lapsed": "Lapsed",
    "applicants": "Applicants to review",
}


def renewal_condition(which: str, today: date):
    m = AssociationMembership
    if which == "due":
        horizon = today + timedelta(days=RENEWAL_WINDOW_DAYS)
        return and_(m.status == "active", or_(m.paid_until.is_(None), m.paid_until <= horizon))
    if which == "lapsed":
        return m.status == "lapsed"
    if which == "applicants":
        return m.status == "applicant"
    return false()


def renewal_page(
    which: str, today: date, page: int, per_page: int, total: int | None = None
) -> Page:
    """One page of a renewal list and its total (two statements; one when the
    caller already knows the total)."""
    m = AssociationMembership
    base = _current_memberships().where(renewal_condition(which, today))
    if total is None:
        total = db.session.scalar(base.add_columns(func.count()))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    order = m.paid_until.asc().nulls_first() if which == "due" else m.updated_at.desc()
    # Deferred join: the page's memberships first, then only their organisations.
    ids = (
        base.add_columns(m.id)
        .order_by(order, m.organisation_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("page_ids")
    )
    rows = db.session.execute(
        select(
            Organisation.id,
            Organisation.name,
            Organisation.kind,
            Organisation.city,
            m.status,
            m.fee_tier,
            m.paid_until,
            m.joined_on,
            m.updated_at,
        )
        .select_from(m)
        .join(ids, ids.c.id == m.id)
        .join(m.organisation)
        .order_by(order, m.organisation_id)
    ).all()
    return Page(items=rows, total=total, page=page, per_page=per_page)


def _not_archived(tenant_id, organisation_id):
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


def _current_memberships(*columns) -> Select:
    """``columns`` over the memberships of organisations that are not archived."""
    m = AssociationMembership
    return select(*columns).select_from(m).where(_not_archived(m.tenant_id, m.organisation_id))


def _renewal_columns(today: date) -> list:
    return [
        func.count().filter(renewal_condition(which, today)).label(which) for which in RENEWAL_LISTS
    ]


def renewal_counts(today: date) -> dict[str, int]:
    """The size of each renewal list in one statement."""
    row = db.session.execute(_current_memberships(*_renewal_columns(today))).one()
    return dict(row._mapping)


def dashboard_figures(tenant_id: int, today: date) -> dict:
    """The dashboard's figures: five statements whatever the data."""
    by_kind, by_size = _by_kind_and_size(
        db.session.execute(
            select(Organisation.kind, Organisation.size_class, func.count())
            .where(Organisation.archived == false(), Organisation.is_external == false())
            .group_by(Organisation.kind, Organisation.size_class)
        )
    )
    total = sum(by_kind.values())
    # Memberships by status, with the renewal lists' sizes, in one statement;
    # an organisation has at most one membership, so the rest have none.
    by_status: dict[str, int] = {}
    renewals = dict.fromkeys(RENEWAL_LISTS, 0)
    for row in db.session.execute(
        _current_memberships(
            AssociationMembership.status, func.count().label("n"), *_renewal_columns(today)
        ).group_by(AssociationMembership.status)
    ):
        by_status[row.status] = row.n
        for which in RENEWAL_LISTS:
            renewals[which] += row._mapping[which]
    by_status[NO_VALUE] = total - sum(by_status.values())
    # Rows of organisation_ecosystems of current organisations: an index-only
    # scan. The association table is not an ORM entity, so its tenant is named.
    oe = organisation_ecosystems.c
    counts = (
        select(oe.ecosystem_id, func.count().label("n"))
        .where(oe.tenant_id == tenant_id, _not_archived(oe.tenant_id, oe.organisation_id))
        .group_by(oe.ecosystem_id)
        .subquery()
    )
    by_ecosystem = db.session.execute(
        select(Ecosystem.id, Ecosystem.name, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.ecosystem_id == Ecosystem.id)
        .order_by(Ecosystem.id)
    ).all()
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
        "renewals": renewals,
        "due_soon": renewal_page("due", today, 1, 10, total=renewals["due"]),
        "recent": recent,
    }
