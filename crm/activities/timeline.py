"""The timeline of an organisation or a contact: what happened, newest first,
with who and when, gathered from several sources.

A source is one small function ``source(subject_id, limit) -> list[Entry]``:
one statement, its own newest ``limit`` rows. ``timeline`` asks every source of
the subject for ``limit + 1`` rows and merges them by date in Python, so a page
costs one statement per source whatever the data, and the newest ``limit`` of
all sources are exactly the newest of what the sources returned.

To add a source: write a function that maps its rows to an ``Entry`` and append
it to ``ORGANISATION_SOURCES`` and/or ``CONTACT_SOURCES``; the page and its
"show more" need nothing else. The mail sent (mailings and renewal reminders)
comes from ``crm.mailings.queries`` that way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import and_, select

from crm.extensions import db
from crm.formats import date as format_date
from crm.formats import money
from crm.i18n import _
from crm.mailings.queries import sent_to_contact, sent_to_organisation
from crm.models import (
    Activity,
    AssociationMembership,
    Contact,
    MembershipStatusChange,
    Payment,
    User,
)
from crm.models.activity import ACTIVITY_KINDS
from crm.models.membership import MEMBERSHIP_STATUSES, PAYMENT_METHODS

PAGE = 20  # entries shown at first, and added by each "show more"
MOST = 500  # the longest timeline one page shows


@dataclass(frozen=True)
class Entry:
    at: datetime  # when it happened, in UTC; a dated event counts from its day's start
    kind: str  # note, call, meeting, status, payment, mail
    title: str
    detail: str | None = None
    who: str | None = None  # who recorded it (a user's name)
    dated: bool = False  # ``at`` is a day, not a moment: show the date only
    activity_id: int | None = None  # an activity can be deleted from the timeline
    payment_id: int | None = None
    contact: str | None = None  # the contact an activity was with


Source = Callable[[int, int], list[Entry]]


def moment(value: datetime | date) -> datetime:
    """A datetime in UTC from a stored datetime (naive from SQLite) or a day."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, UTC)


def _activities(where, limit: int) -> list[Entry]:
    rows = db.session.execute(
        select(Activity, User.name, Contact.first_name, Contact.last_name)
        .outerjoin(User, User.id == Activity.author_id)
        .outerjoin(
            Contact,
            and_(Contact.tenant_id == Activity.tenant_id, Contact.id == Activity.contact_id),
        )
        .where(where)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit)
    )
    return [
        Entry(
            at=moment(activity.occurred_at),
            kind=activity.kind,
            title=_(
                "%(kind)s: %(subject)s",
                kind=ACTIVITY_KINDS[activity.kind],
                subject=activity.subject,
            ),
            detail=activity.body,
            who=who,
            activity_id=activity.id,
            contact=f"{first} {last}" if first else None,
        )
        for activity, who, first, last in rows
    ]


def organisation_activities(org_id: int, limit: int) -> list[Entry]:
    return _activities(Activity.organisation_id == org_id, limit)


def contact_activities(contact_id: int, limit: int) -> list[Entry]:
    return _activities(Activity.contact_id == contact_id, limit)


def status_changes(org_id: int, limit: int) -> list[Entry]:
    change, m = MembershipStatusChange, AssociationMembership
    rows = db.session.execute(
        select(change, User.name)
        .join(m, and_(m.tenant_id == change.tenant_id, m.id == change.membership_id))
        .outerjoin(User, User.id == change.changed_by_id)
        .where(m.organisation_id == org_id)
        .order_by(change.effective_on.desc(), change.id.desc())
        .limit(limit)
    )
    return [
        Entry(
            at=moment(row.effective_on),
            kind="status",
            title=_(
                "Membership: %(before)s → %(after)s",
                before=MEMBERSHIP_STATUSES.get(row.from_status, _("none")),
                after=MEMBERSHIP_STATUSES[row.to_status],
            ),
            detail=row.reason,
            who=who,
            dated=True,
        )
        for row, who in rows
    ]


def payments(org_id: int, limit: int) -> list[Entry]:
    m = AssociationMembership
    rows = db.session.execute(
        select(Payment, User.name)
        .join(m, and_(m.tenant_id == Payment.tenant_id, m.id == Payment.membership_id))
        .outerjoin(User, User.id == Payment.recorded_by_id)
        .where(m.organisation_id == org_id)
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(limit)
    )
    return [
        Entry(
            at=moment(row.paid_on),
            kind="payment",
            title=_(
                "Payment: %(amount)s (%(method)s)",
                amount=money(row.amount, row.currency, cents=True),
                method=PAYMENT_METHODS[row.method],
            ),
            detail=_covers(row),
            who=who,
            dated=True,
            payment_id=row.id,
        )
        for row, who in rows
    ]


def _covers(payment) -> str:
    period = {"start": format_date(payment.period_from), "end": format_date(payment.period_to)}
    if payment.reference:
        return _(
            "Covers %(start)s to %(end)s; reference %(reference)s",
            **period,
            reference=payment.reference,
        )
    return _("Covers %(start)s to %(end)s", **period)


def _mail(rows) -> list[Entry]:
    return [
        Entry(
            at=moment(row.when),
            kind="mail",
            title=_("E-mail: %(subject)s", subject=row.subject),
            detail=_(
                "%(name)s · to %(email)s · %(status)s",
                name=row.name,
                email=row.email,
                status=row.status,
            ),
            who=row.by or _("Renewal reminders"),
        )
        for row in rows
    ]


def mail_to_organisation(org_id: int, limit: int) -> list[Entry]:
    return _mail(sent_to_organisation(org_id, limit))


def mail_to_contact(contact_id: int, limit: int) -> list[Entry]:
    return _mail(sent_to_contact(contact_id, limit))


ORGANISATION_SOURCES: list[Source] = [
    organisation_activities,
    status_changes,
    payments,
    mail_to_organisation,
]
CONTACT_SOURCES: list[Source] = [contact_activities, mail_to_contact]


@dataclass(frozen=True)
class Timeline:
    entries: list[Entry]
    more: bool  # older entries exist beyond ``entries``
    limit: int


def timeline(sources: Sequence[Source], subject_id: int, limit: int = PAGE) -> Timeline:
    """The newest ``limit`` entries of all ``sources``: one statement per source."""
    limit = min(max(limit, 1), MOST)
    gathered = [entry for source in sources for entry in source(subject_id, limit + 1)]
    # Ties (same moment) keep a fixed order: by kind, then by the ids.
    gathered.sort(key=lambda e: (e.at, e.kind, e.activity_id or 0, e.payment_id or 0), reverse=True)
    return Timeline(entries=gathered[:limit], more=len(gathered) > limit, limit=limit)


def organisation_timeline(org_id: int, limit: int = PAGE) -> Timeline:
    return timeline(ORGANISATION_SOURCES, org_id, limit)


def contact_timeline(contact_id: int, limit: int = PAGE) -> Timeline:
    return timeline(CONTACT_SOURCES, contact_id, limit)


def shown(args) -> int:
    """How many entries the page shows (``?timeline=``, grown by "show more")."""
    try:
        return min(max(int(args.get("timeline", PAGE)), PAGE), MOST)
    except ValueError:
        return PAGE
