"""The contacts list: people at the association's current organisations, searched
and filtered like the directory, paged, sorted and exported (with e-mails).

Erased contacts (GDPR) are never listed nor exported: nothing is left of them
to reach. Contacts of archived organisations are left out, as the directory
leaves those out. A page is one statement (a deferred join: ids and the total
from the narrow list, then the page's rows), whatever the page size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Select, false, func, or_, select, true

from crm.collation import in_tenant_order
from crm.dialects import folded_matches, matches
from crm.exports import Export
from crm.exports import columns as export_columns
from crm.extensions import db
from crm.i18n import _l
from crm.members.queries import MAX_PER_PAGE, Page
from crm.models import ClusterMembership, Contact, Organisation, Tag, contact_tags
from crm.models.organisation import KINDS, SIZE_CLASSES, SME_CLASSES
from crm.segments import related

SORTS = {
    "name": (
        _l("Name"),
        lambda: (in_tenant_order(Contact.last_name), in_tenant_order(Contact.first_name)),
    ),
    "organisation": (_l("Organisation"), lambda: (in_tenant_order(func.lower(Organisation.name)),)),
    "email": (_l("E-mail"), lambda: (Contact.email,)),
    "created": (_l("Recently added"), lambda: ()),  # ids grow with time
}
SME = "sme"  # size filter value: micro, small or medium


@dataclass
class ContactFilters:
    """What the contacts list shows, parsed leniently (unknown values dropped)."""

    q: str = ""
    role: str = ""
    tag: int | None = None
    kind: str = ""
    size: str = ""
    ecosystem: int | None = None
    cluster: int | None = None
    sort: str = "name"
    desc: bool = False
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args, per_page: int = 50) -> ContactFilters:
        def choice(name, allowed):
            value = (args.get(name) or "").strip()
            return value if value in allowed else ""

        def number(name, default, high):
            try:
                return min(max(1, int(args.get(name, default))), high)
            except ValueError:
                return default

        sort = args.get("sort") or "name"
        return cls(
            q=(args.get("q") or "").strip()[:100],
            role=related.role_of(args, "role"),
            tag=related.positive_id(args, "tag"),
            kind=choice("kind", KINDS),
            size=choice("size", [*SIZE_CLASSES, SME]),
            ecosystem=related.positive_id(args, "ecosystem"),
            cluster=related.positive_id(args, "cluster"),
            sort=sort if sort in SORTS else "name",
            desc=args.get("dir") == "desc",
            page=number("page", 1, 1_000_000),
            per_page=number("per_page", per_page, MAX_PER_PAGE),
        )

    def args(self, **changes) -> dict:
        out = {
            "q": self.q,
            "role": self.role,
            "tag": self.tag,
            "kind": self.kind,
            "size": self.size,
            "ecosystem": self.ecosystem,
            "cluster": self.cluster,
            "sort": None if self.sort == "name" else self.sort,
            "dir": "desc" if self.desc else None,
        }
        out.update(changes)
        return {k: v for k, v in out.items() if v not in (None, "")}

    @property
    def active(self) -> bool:
        return bool(
            self.q
            or self.role
            or self.tag
            or self.kind
            or self.size
            or self.ecosystem
            or self.cluster
        )


def joined(*columns) -> Select:
    return (
        select(*columns)
        .select_from(Contact)
        .join(
            Organisation,
            (Organisation.tenant_id == Contact.tenant_id)
            & (Organisation.id == Contact.organisation_id),
        )
    )


def cluster_scope(cluster_id: int):
    """A cluster manager's contacts: the cluster's own and its current members'."""
    members = select(ClusterMembership.member_id).where(
        ClusterMembership.cluster_id == cluster_id, ClusterMembership.until.is_(None)
    )
    return or_(Contact.organisation_id == cluster_id, Contact.organisation_id.in_(members))


def _reads_organisation(filters: ContactFilters, columns) -> bool:
    """Whether the statement must join the organisations: the order or a column
    reads them. Otherwise it reads the contacts' name index alone (PostgreSQL: an
    index-only scan, INCLUDE organisation_id, role and email)."""
    reads = any(getattr(c, "table", None) is Organisation.__table__ for c in columns)
    return reads or filters.sort == "organisation"


def _organisations(filters: ContactFilters) -> Select:
    """The ids of the organisations whose contacts may show: current ones, of the
    kind, size, ecosystem and cluster asked for. One set, hashed once and probed
    per contact (``related.one_set``), not the organisations and their ecosystems
    probed once per contact."""
    query = select(Organisation.id).where(Organisation.archived == false())
    if filters.kind:
        query = query.where(Organisation.kind == filters.kind)
    if filters.size == SME:
        query = query.where(Organisation.size_class.in_(SME_CLASSES))
    elif filters.size:
        query = query.where(Organisation.size_class == filters.size)
    if filters.ecosystem:
        query = query.where(
            related.in_ecosystem(Organisation.tenant_id, Organisation.id, filters.ecosystem)
        )
    if filters.cluster:
        query = query.where(
            related.in_cluster(Organisation.tenant_id, Organisation.id, filters.cluster)
        )
    return related.one_set(query)


def _archived_organisations() -> Select:
    """The ids of the (few) archived organisations, read from their partial index."""
    return select(Organisation.id).where(Organisation.archived == true())


def _search_condition(q: str):
    """A substring of "first last", of the e-mail, or of the organisation's name,
    case and accents aside (the folded ``search_name`` columns, migration
    0029); the organisations come as one hashed set from the directory's name
    index (it INCLUDEs the folded name). Row-level security keeps LIKE out of
    index conditions, so this is a filter over the contacts' index-only scan
    (which INCLUDEs the folded name too)."""
    named = select(Organisation.id).where(
        Organisation.archived == false(), folded_matches(Organisation.search_name, q)
    )
    return or_(
        folded_matches(Contact.search_name, q),
        matches(Contact.email, q),
        Contact.organisation_id.in_(named),
    )


def filtered(filters: ContactFilters, columns, *, cluster_id: int | None = None) -> Select:
    """``columns`` of the contacts that match; ``cluster_id`` limits them to a
    cluster manager's scope."""
    if _reads_organisation(filters, columns):
        query = joined(*columns)
    else:
        query = select(*columns).select_from(Contact)
    query = query.where(Contact.erased_at.is_(None))
    if filters.kind or filters.size or filters.ecosystem or filters.cluster:
        query = query.where(Contact.organisation_id.in_(_organisations(filters)))
    else:
        query = query.where(Contact.organisation_id.not_in(_archived_organisations()))
    if cluster_id is not None:
        query = query.where(cluster_scope(cluster_id))
    if filters.q:
        query = query.where(_search_condition(filters.q))
    if filters.role:
        query = query.where(Contact.role == filters.role)
    if filters.tag:
        query = query.where(
            related.has_tag(contact_tags, "contact_id", Contact.tenant_id, Contact.id, filters.tag)
        )
    return query


def _ordered(query: Select, filters: ContactFilters) -> Select:
    keys = SORTS[filters.sort][1]()
    if filters.desc:
        return query.order_by(*(k.desc().nulls_first() for k in keys), Contact.id.desc())
    return query.order_by(*(k.asc().nulls_last() for k in keys), Contact.id)


def _tags_of_contact():
    """The contact's tags, one string (aggregated in SQL)."""
    ct = contact_tags.c
    return (
        select(func.aggregate_strings(Tag.name, "; "))
        .select_from(contact_tags)
        .join(Tag, (Tag.tenant_id == ct.tenant_id) & (Tag.id == ct.tag_id))
        .where(ct.tenant_id == Contact.tenant_id, ct.contact_id == Contact.id)
        .scalar_subquery()
    )


LIST_COLUMNS = (
    Contact.id,
    Contact.first_name,
    Contact.last_name,
    Contact.email,
    Contact.phone,
    Contact.job_title,
    Contact.role,
    Contact.is_primary,
    Contact.consent_given,
    Contact.organisation_id,
    Organisation.name.label("organisation"),
    Organisation.kind,
    Organisation.size_class,
    Organisation.city,
)


def _page_rows(filters: ContactFilters, page: int, cluster_id: int | None) -> tuple[list, int]:
    ids = (
        _ordered(
            filtered(
                filters, [Contact.id, func.count().over().label("total")], cluster_id=cluster_id
            ),
            filters,
        )
        .limit(filters.per_page)
        .offset((page - 1) * filters.per_page)
        .subquery("page_ids")
    )
    rows = db.session.execute(
        _ordered(
            joined(*LIST_COLUMNS, _tags_of_contact().label("tags"), ids.c.total).join(
                ids, ids.c.id == Contact.id
            ),
            filters,
        )
    ).all()
    return rows, rows[0].total if rows else 0


def count(filters: ContactFilters, cluster_id: int | None = None) -> int:
    return db.session.scalar(filtered(filters, [func.count(Contact.id)], cluster_id=cluster_id))


def contacts_page(filters: ContactFilters, cluster_id: int | None = None) -> Page:
    """One page and its total in one statement; past the end, the last page."""
    rows, total = _page_rows(filters, filters.page, cluster_id)
    page = filters.page
    if not rows and page > 1:
        total = count(filters, cluster_id)
        page = max(1, math.ceil(total / filters.per_page))
        if total:
            rows, total = _page_rows(filters, page, cluster_id)
    return Page(items=rows, total=total, page=page, per_page=filters.per_page)


# The export: e-mails included (the list exists to reach people).
EXPORT: Export = [
    ("id", Contact.id),
    ("first_name", Contact.first_name),
    ("last_name", Contact.last_name),
    ("email", Contact.email),
    ("phone", Contact.phone),
    ("job_title", Contact.job_title),
    ("role", Contact.role),
    ("primary", Contact.is_primary),
    ("consent_given", Contact.consent_given),
    ("consent_date", Contact.consent_date),
    ("consent_source", Contact.consent_source),
    ("organisation_id", Contact.organisation_id),
    ("organisation", Organisation.name),
    ("organisation_kind", Organisation.kind),
    ("size_class", Organisation.size_class),
    ("country", Organisation.country),
    ("city", Organisation.city),
    ("tags", _tags_of_contact()),
]


def export_rows(filters: ContactFilters, cluster_id: int | None = None):
    query = _ordered(filtered(filters, export_columns(EXPORT), cluster_id=cluster_id), filters)
    return db.session.execute(query.execution_options(yield_per=2000))


def contact_ids_matching(filters: ContactFilters) -> Select:
    return filtered(filters, [Contact.id])


def organisation_ids_matching(filters: ContactFilters) -> Select:
    return filtered(filters, [Contact.organisation_id]).distinct()
