"""Reads of renewals: the four renewal lists, payments, and the money figures
of the dashboard.

``memberships(tenant_id, list_name, today, days)`` is the one definition of
each list; the list page, its exports, the dashboard and the mailings (which
accept ``renewal=overdue|due|lapsed|applicants`` and ``days``) all select
through it. Every list holds current members only: organisations neither
archived nor external partners.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, func, or_, select, true

from crm.exports import Export
from crm.exports import columns as export_columns
from crm.exports import headers as export_headers
from crm.extensions import db
from crm.members.queries import RENEWAL_LISTS, Page, current_memberships, not_archived
from crm.models import AssociationMembership, Contact, Organisation, Payment, User

LISTS = RENEWAL_LISTS
DEFAULT_DAYS = 30
MAX_DAYS = 366

m = AssociationMembership


def condition(list_name: str, today: date, days: int = DEFAULT_DAYS):
    """Which memberships a list holds (see docs/members.md#renewal-lists).

    * overdue: active, and paid until a day before ``today``, or never recorded;
    * due: active, and paid until ``today`` or one of the next ``days`` days;
    * lapsed / applicants: the status.
    """
    if list_name == "overdue":
        return and_(m.status == "active", or_(m.paid_until.is_(None), m.paid_until < today))
    if list_name == "due":
        horizon = today + timedelta(days=days)
        return and_(m.status == "active", m.paid_until >= today, m.paid_until <= horizon)
    if list_name == "lapsed":
        return m.status == "lapsed"
    if list_name == "applicants":
        return m.status == "applicant"
    raise ValueError(f"unknown renewal list {list_name!r}")


def memberships(tenant_id: int, list_name: str, today: date, days: int = DEFAULT_DAYS) -> Select:
    """``select(AssociationMembership)`` of one renewal list, unordered.

    The tenant is named as well as scoped, so the selection can be used where
    the automatic scoping does not reach (a job's subquery). For the
    organisations: ``.with_only_columns(AssociationMembership.organisation_id)``.
    """
    return select(m).where(
        m.tenant_id == tenant_id,
        not_archived(m.tenant_id, m.organisation_id),
        condition(list_name, today, days),
    )


# The order of each list: what needs attention first.
ORDERS = {
    "overdue": lambda: (m.paid_until.asc().nulls_first(), m.organisation_id),  # longest overdue
    "due": lambda: (m.paid_until.asc(), m.organisation_id),  # soonest
    "lapsed": lambda: (m.left_on.desc().nulls_last(), m.organisation_id),  # latest lapse
    "applicants": lambda: (m.created_at.asc(), m.organisation_id),  # waiting longest
}


@dataclass(frozen=True)
class Selection:
    """A renewal list as the page's query arguments say (read leniently)."""

    list_name: str = "overdue"
    days: int = DEFAULT_DAYS

    @classmethod
    def from_args(cls, args) -> Selection:
        list_name = args.get("list") or args.get("renewal") or "overdue"
        try:
            days = min(max(int(args.get("days", DEFAULT_DAYS)), 1), MAX_DAYS)
        except ValueError:
            days = DEFAULT_DAYS
        return cls(list_name if list_name in LISTS else "overdue", days)

    def args(self, **changes) -> dict:
        out = {"list": self.list_name}
        if self.list_name == "due":
            out["days"] = self.days
        return {**out, **changes}

    def list_args(self) -> dict:
        """The query arguments that select this list in the directory and on the
        new-mailing page (``renewal``, and ``days`` for "due")."""
        out = {"renewal": self.list_name}
        if self.list_name == "due":
            out["days"] = self.days
        return out


ROW_COLUMNS = (
    Organisation.id,
    Organisation.name,
    Organisation.kind,
    Organisation.city,
    m.id.label("membership_id"),
    m.status,
    m.fee_tier,
    m.fee_amount,
    m.fee_currency,
    m.paid_until,
    m.joined_on,
    m.left_on,
    m.created_at,
)


def page(
    tenant_id: int,
    selection: Selection,
    today: date,
    number: int,
    per_page: int,
    total: int | None = None,
) -> Page:
    """One page of a list and its total: two statements (a count, then the
    page's memberships joined to their organisations); one when the caller
    knows the total."""
    base = memberships(tenant_id, selection.list_name, today, selection.days).subquery("listed")
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(base))
    pages = max(1, math.ceil(total / per_page))
    number = min(max(number, 1), pages)
    order = ORDERS[selection.list_name]()
    rows = db.session.execute(
        select(*ROW_COLUMNS)
        .select_from(m)
        .join(m.organisation)
        .where(m.id.in_(select(base.c.id)))
        .order_by(*order)
        .limit(per_page)
        .offset((number - 1) * per_page)
    ).all()
    return Page(items=rows, total=total, page=number, per_page=per_page)


def counts(today: date, days: int = DEFAULT_DAYS) -> dict[str, int]:
    """The size of each list, in one statement."""
    row = db.session.execute(current_memberships(*count_columns(today, days))).one()
    return dict(row._mapping)


def count_columns(today: date, days: int = DEFAULT_DAYS) -> list:
    """One count per list, as columns over the current memberships."""
    return [func.count().filter(condition(name, today, days)).label(name) for name in LISTS]


def _primary_contact(column):
    return (
        select(column)
        .where(
            Contact.tenant_id == Organisation.tenant_id,
            Contact.organisation_id == Organisation.id,
            Contact.is_primary == true(),
        )
        .scalar_subquery()
    )


EXPORT: Export = [
    ("organisation_id", Organisation.id),
    ("name", Organisation.name),
    ("kind", Organisation.kind),
    ("city", Organisation.city),
    ("country", Organisation.country),
    ("membership_status", m.status),
    ("joined_on", m.joined_on),
    ("left_on", m.left_on),
    ("fee_tier", m.fee_tier),
    ("fee_amount", m.fee_amount),
    ("fee_currency", m.fee_currency),
    ("period_months", m.period_months),
    ("paid_until", m.paid_until),
    ("primary_contact_email", _primary_contact(Contact.email)),
]
# Computed per row from paid_until and the day of the export (not SQL: date
# arithmetic differs between the databases): positive = overdue, negative = still paid.
DAYS_HEADER = "days_past_paid_until"


def export_header_row() -> list[str]:
    return [*export_headers(EXPORT), DAYS_HEADER]


def export_count(tenant_id: int, selection: Selection, today: date) -> int:
    listed = memberships(tenant_id, selection.list_name, today, selection.days).subquery()
    return db.session.scalar(select(func.count()).select_from(listed))


def export_rows(tenant_id: int, selection: Selection, today: date):
    """Every row of the list, in the page's order, streamed (``yield_per``)."""
    listed = memberships(tenant_id, selection.list_name, today, selection.days).subquery()
    query = (
        select(*export_columns(EXPORT))
        .select_from(m)
        .join(m.organisation)
        .where(m.id.in_(select(listed.c.id)))
        .order_by(*ORDERS[selection.list_name]())
        .execution_options(yield_per=2000)
    )
    for row in db.session.execute(query):
        paid_until = row.paid_until
        yield (*row, (today - paid_until).days if paid_until else None)


# -- payments ------------------------------------------------------------------

PAYMENTS_SHOWN = 50

PAYMENT_EXPORT: Export = [
    ("payment_id", Payment.id),
    ("organisation_id", Organisation.id),
    ("organisation", Organisation.name),
    ("paid_on", Payment.paid_on),
    ("amount", Payment.amount),
    ("currency", Payment.currency),
    ("method", Payment.method),
    ("reference", Payment.reference),
    ("period_from", Payment.period_from),
    ("period_to", Payment.period_to),
    ("recorded_by", User.name),
    ("recorded_at", Payment.created_at),
]


def _payments(*columns) -> Select:
    return (
        select(*columns)
        .select_from(Payment)
        .join(m, and_(m.tenant_id == Payment.tenant_id, m.id == Payment.membership_id))
        .join(m.organisation)
        .outerjoin(User, User.id == Payment.recorded_by_id)
    )


def payments_of(membership_id: int, limit: int = PAYMENTS_SHOWN) -> tuple[list, int]:
    """The membership's latest payments and how many there are (two statements)."""
    rows = db.session.execute(
        _payments(Payment, User.name.label("recorded_by"))
        .where(Payment.membership_id == membership_id)
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(limit)
    ).all()
    if len(rows) < limit:
        return rows, len(rows)
    total = db.session.scalar(
        select(func.count(Payment.id)).where(Payment.membership_id == membership_id)
    )
    return rows, total


def payment_or_none(payment_id: int):
    """A payment with its organisation and who recorded it, or None."""
    return db.session.execute(
        _payments(Payment, Organisation, User.name.label("recorded_by")).where(
            Payment.id == payment_id
        )
    ).one_or_none()


@dataclass(frozen=True)
class PaymentFilter:
    """Which payments an export holds: one organisation's, or the association's
    (optionally of one calendar year)."""

    org_id: int | None = None
    year: int | None = None

    @classmethod
    def from_args(cls, args) -> PaymentFilter:
        def integer(name, low, high):
            try:
                value = int(args.get(name, ""))
            except ValueError:
                return None
            return value if low <= value <= high else None

        return cls(org_id=integer("org_id", 1, 2**31 - 1), year=integer("year", 1900, 2100))

    def args(self) -> dict:
        """The query arguments that reproduce this filter (for the export job)."""
        return {k: str(v) for k, v in (("org_id", self.org_id), ("year", self.year)) if v}

    def where(self) -> list:
        out = []
        if self.org_id is not None:
            out.append(m.organisation_id == self.org_id)
        if self.year is not None:
            out += [
                Payment.paid_on >= date(self.year, 1, 1),
                Payment.paid_on <= date(self.year, 12, 31),
            ]
        return out


def payment_count(filters: PaymentFilter) -> int:
    return db.session.scalar(_payments(func.count(Payment.id)).where(*filters.where()))


def payment_export_rows(filters: PaymentFilter):
    return db.session.execute(
        _payments(*export_columns(PAYMENT_EXPORT))
        .where(*filters.where())
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .execution_options(yield_per=2000)
    )


# -- the dashboard's money ------------------------------------------------------


def received_in_year(today: date) -> dict[str, Decimal]:
    """Payments dated from 1 January of ``today``'s year to ``today``, summed per
    currency (one statement). Every payment counts, archived organisations' too:
    the money was received."""
    rows = db.session.execute(
        select(Payment.currency, func.sum(Payment.amount))
        .where(Payment.paid_on >= date(today.year, 1, 1), Payment.paid_on <= today)
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    )
    return {currency: Decimal(total) for currency, total in rows}


def outstanding_columns(today: date) -> list:
    """Columns over current memberships grouped by ``fee_currency``: the fees of
    the overdue memberships (one period each) and how many overdue ones have no
    fee recorded (their debt is unknown, not zero)."""
    overdue = condition("overdue", today)
    return [
        func.sum(m.fee_amount).filter(overdue).label("outstanding"),
        func.count().filter(and_(overdue, m.fee_amount.is_(None))).label("overdue_without_fee"),
    ]
