"""Reading partner requests: the alliance's open requests, the association's
own, one request with the interests the user may see, and the notifications.

Requests are readable by every association, interests by the two associations
concerned, shared contacts by the other side only after acceptance. The same
rules are written here (so SQLite, the embedded default, keeps them) and, on
PostgreSQL, in the policies of migration 0013.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, case, func, literal, or_, select, union_all

from crm.extensions import MAX_PAGE, bounded_arg, db
from crm.members.queries import Page
from crm.models import (
    Contact,
    Organisation,
    PartnerInterest,
    PartnerProfile,
    PartnerRequest,
    SharedContact,
)
from crm.tenancy import current_tenant_id

PER_PAGE = 20
NOTIFICATIONS_SHOWN = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class RequestFilters:
    """The list's filters, read leniently (an unknown value is dropped)."""

    q: str = ""
    programme: str = ""
    ecosystem: str = ""
    country: str = ""
    kind: str = ""
    mine: bool = False
    page: int = 1

    @classmethod
    def from_args(cls, args) -> RequestFilters:
        def code(name: str, length: int) -> str:
            return "".join(c for c in (args.get(name) or "") if c.isalnum() or c in "_-")[:length]

        page = bounded_arg(args, "page", 1, MAX_PAGE)
        return cls(
            q=(args.get("q") or "").strip()[:100],
            programme=code("programme", 20),
            ecosystem=code("ecosystem", 40),
            country=code("country", 2).upper(),
            kind=code("kind", 20),
            mine=args.get("mine") == "1",
            page=page,
        )


def _sought(column, code: str):
    """The request seeks ``code``, or seeks nothing in particular ("|")."""
    return or_(column == "|", column.contains(f"|{code}|", autoescape=True))


def request_list(filters: RequestFilters, today: date) -> Page:
    """Open requests of the whole alliance (or all of the association's own,
    whatever their state, with ``mine``), soonest deadline first. Two statements."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        return Page(items=[], total=0, page=filters.page, per_page=PER_PAGE)
    query = select(PartnerRequest)
    if filters.mine:
        query = query.where(PartnerRequest.tenant_id == tenant_id)
        order = [PartnerRequest.created_at.desc(), PartnerRequest.id.desc()]
    else:
        query = query.where(PartnerRequest.closed_at.is_(None), PartnerRequest.deadline >= today)
        order = [PartnerRequest.deadline, PartnerRequest.id]
    if filters.q:
        word = filters.q.lower()
        query = query.where(
            or_(
                func.lower(PartnerRequest.title).contains(word, autoescape=True),
                func.lower(PartnerRequest.topic).contains(word, autoescape=True),
                func.lower(PartnerRequest.call_identifier).contains(word, autoescape=True),
            )
        )
    if filters.programme:
        query = query.where(PartnerRequest.programme_code == filters.programme)
    if filters.ecosystem:
        query = query.where(_sought(PartnerRequest.ecosystem_codes, filters.ecosystem))
    if filters.country:
        query = query.where(_sought(PartnerRequest.countries, filters.country))
    if filters.kind:
        query = query.where(_sought(PartnerRequest.kinds, filters.kind))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.order_by(*order).limit(PER_PAGE).offset((filters.page - 1) * PER_PAGE)
    ).all()
    return Page(items=list(items), total=total, page=filters.page, per_page=PER_PAGE)


def interest_counts(request_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Request id -> (pending, all) interests, for the association's own requests."""
    if not request_ids:
        return {}
    rows = db.session.execute(
        select(
            PartnerInterest.request_id,
            func.count().filter(PartnerInterest.status == "pending"),
            func.count(),
        )
        .where(
            PartnerInterest.request_tenant_id == current_tenant_id(),
            PartnerInterest.request_id.in_(request_ids),
        )
        .group_by(PartnerInterest.request_id)
    )
    return {rid: (pending, total) for rid, pending, total in rows}


def request_or_none(request_id: int) -> PartnerRequest | None:
    if current_tenant_id() is None:
        return None
    return db.session.get(PartnerRequest, request_id)


def visible_interests(request: PartnerRequest) -> list[PartnerInterest]:
    """All interests in the association's own request; in another's, only its own."""
    tenant_id = current_tenant_id()
    query = select(PartnerInterest).where(PartnerInterest.request_id == request.id)
    if request.tenant_id != tenant_id:
        query = query.where(PartnerInterest.tenant_id == tenant_id)
    return list(db.session.scalars(query.order_by(PartnerInterest.created_at)))


def interest_or_none(request: PartnerRequest, interest_id: int) -> PartnerInterest | None:
    return next((i for i in visible_interests(request) if i.id == interest_id), None)


def shared_contacts(interests: list[PartnerInterest]) -> dict[tuple[int, int], SharedContact]:
    """(interest id, sharing tenant) -> contact: the association's own shares, and
    the other side's once the interest is accepted."""
    tenant_id = current_tenant_id()
    accepted = [i.id for i in interests if i.status == "accepted"]
    ids = [i.id for i in interests]
    if not ids:
        return {}
    rows = db.session.scalars(
        select(SharedContact).where(
            SharedContact.interest_id.in_(ids),
            or_(SharedContact.tenant_id == tenant_id, SharedContact.interest_id.in_(accepted)),
        )
    )
    return {(c.interest_id, c.tenant_id): c for c in rows}


# -- notifications ---------------------------------------------------------------


def _seen(user) -> datetime:
    return _aware(user.notifications_seen_at or _EPOCH)


def unread_count(user) -> int:
    """News since the user last opened the notifications, in one statement: interests
    in the association's requests (new or withdrawn), answers to its own interests."""
    tenant_id, seen = user.tenant_id, _seen(user)
    if tenant_id is None:
        return 0
    ours = PartnerInterest.request_tenant_id == tenant_id
    theirs = PartnerInterest.tenant_id == tenant_id
    news = (
        case((and_(ours, PartnerInterest.created_at > seen), 1), else_=0)
        + case((and_(ours, PartnerInterest.withdrawn_at > seen), 1), else_=0)
        + case((and_(theirs, PartnerInterest.decided_at > seen), 1), else_=0)
    )
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(news), 0)).where(
                or_(ours, theirs),
                or_(
                    PartnerInterest.created_at > seen,
                    PartnerInterest.decided_at > seen,
                    PartnerInterest.withdrawn_at > seen,
                ),
            )
        )
        or 0
    )


@dataclass
class Notification:
    event: str  # interest | withdrawn | accepted | declined
    at: datetime
    request_id: int
    title: str
    organisation_name: str
    unread: bool


def notifications(user) -> list[Notification]:
    """The latest news of the association's partner requests and interests, newest first."""
    tenant_id, seen = user.tenant_id, _seen(user)
    if tenant_id is None:
        return []
    i, r = PartnerInterest, PartnerRequest

    def events(event, at, who):
        return (
            select(
                event.label("event"),
                at.label("at"),
                r.id.label("request_id"),
                r.title.label("title"),
                i.organisation_name.label("organisation_name"),
            )
            .join(r, and_(r.id == i.request_id, r.tenant_id == i.request_tenant_id))
            .where(who, at.is_not(None))
        )

    ours, theirs = i.request_tenant_id == tenant_id, i.tenant_id == tenant_id
    feed = union_all(
        events(literal("interest"), i.created_at, ours),
        events(literal("withdrawn"), i.withdrawn_at, ours),
        events(i.status, i.decided_at, theirs),
    ).subquery()
    rows = db.session.execute(
        select(feed).order_by(feed.c.at.desc()).limit(NOTIFICATIONS_SHOWN)
    ).all()
    return [
        Notification(row.event, _aware(row.at), row.request_id, row.title,
                     row.organisation_name, _aware(row.at) > seen)
        for row in rows
    ]  # fmt: skip


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; make them comparable."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- what a user may act for -----------------------------------------------------


def may_act_for(organisation_id: int) -> bool:
    """Staff act for every organisation of the association; a cluster manager
    for their cluster and its current members (``crm.projects.access``)."""
    from crm.projects.access import allowed_organisations

    allowed = allowed_organisations()
    return allowed is None or organisation_id in allowed


def requesting_organisations(extra_ids: list[int]) -> list[tuple[int, str]]:
    """What a request may be posted for: the association's clusters (a cluster
    manager: their own), and ``extra_ids`` (a proposal's consortium members)."""
    from crm.projects.access import own_cluster_id

    own = own_cluster_id()
    cluster = Organisation.kind == "cluster" if own is None else Organisation.id == own
    query = (
        select(Organisation.id, Organisation.name)
        .where(
            or_(cluster, Organisation.id.in_(extra_ids)),
            Organisation.archived.is_(False),
            Organisation.is_external.is_(False),
        )
        .order_by(func.lower(Organisation.name), Organisation.id)
    )
    return [(oid, name) for oid, name in db.session.execute(query) if may_act_for(oid)]


OFFERED_MAX = 500


def published_organisations() -> list[tuple[int, str]]:
    """The association's published organisations the user may act for, by name."""
    rows = db.session.execute(
        select(PartnerProfile.organisation_id, PartnerProfile.name)
        .where(PartnerProfile.tenant_id == current_tenant_id())
        .order_by(func.lower(PartnerProfile.name), PartnerProfile.organisation_id)
        .limit(OFFERED_MAX)
    )
    return [(oid, name) for oid, name in rows if may_act_for(oid)]


def shareable_contacts(organisation_ids: list[int]) -> list[Contact]:
    """Contacts with an e-mail address of these organisations, for the other side
    of a match (erased people never)."""
    if not organisation_ids:
        return []
    return list(
        db.session.scalars(
            select(Contact)
            .where(
                Contact.organisation_id.in_(organisation_ids),
                Contact.erased_at.is_(None),
                Contact.email.is_not(None),
            )
            .order_by(Contact.last_name, Contact.first_name, Contact.id)
            .limit(OFFERED_MAX)
        )
    )
