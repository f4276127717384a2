"""Read queries of mailings: lists, a mailing's recipients and progress, and the
mail each contact and organisation was sent (for their pages and the timeline).
Each is one statement (plus a count for a page)."""

from __future__ import annotations

import math

from sqlalchemy import and_, func, select

from crm.extensions import db
from crm.i18n import _l
from crm.mailings import audience
from crm.members.queries import Page
from crm.models import AssociationMembership, Contact, Organisation, User
from crm.models.mailing import Mailing, MailingRecipient

PER_PAGE = 50


def _page(query, count_query, page: int, per_page: int = PER_PAGE) -> Page:
    total = db.session.scalar(count_query)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    items = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=items, total=total, page=page, per_page=per_page)


def mailing_or_none(mailing_id: int) -> Mailing | None:
    return db.session.scalar(select(Mailing).where(Mailing.id == mailing_id))


def mailing_list(page: int) -> Page:
    """Newest first, with each mailing's recipients by status (one GROUP BY)."""
    r = MailingRecipient
    counts = (
        select(
            r.mailing_id,
            func.count().label("recipients"),
            func.count().filter(r.status == "sent").label("sent"),
            func.count().filter(r.status == "failed").label("failed"),
        )
        .group_by(r.mailing_id)
        .subquery("counts")
    )
    query = (
        select(
            Mailing,
            User.name.label("author"),
            func.coalesce(counts.c.recipients, 0).label("recipients"),
            func.coalesce(counts.c.sent, 0).label("sent"),
            func.coalesce(counts.c.failed, 0).label("failed"),
        )
        .outerjoin(User, User.id == Mailing.created_by_id)
        .outerjoin(counts, counts.c.mailing_id == Mailing.id)
        .order_by(Mailing.created_at.desc(), Mailing.id.desc())
    )
    return _page(query, select(func.count()).select_from(Mailing), page)


def recipient_page(mailing_id: int, status: str, page: int) -> Page:
    r = MailingRecipient
    condition = [r.mailing_id == mailing_id]
    if status:
        condition.append(r.status == status)
    query = (
        select(
            r,
            Contact.first_name,
            Contact.last_name,
            Organisation.id.label("org_id"),
            Organisation.name.label("organisation"),
        )  # fmt: skip
        .join(Contact, and_(Contact.tenant_id == r.tenant_id, Contact.id == r.contact_id))
        .join(Contact.organisation)
        .where(*condition)
        .order_by(r.id)
    )
    return _page(query, select(func.count()).select_from(r).where(*condition), page)


def recipient_export_rows(mailing_id: int):
    r = MailingRecipient
    return db.session.execute(
        select(r.email, Organisation.name, r.status, r.attempts, r.sent_at, r.last_error)
        .join(Contact, and_(Contact.tenant_id == r.tenant_id, Contact.id == r.contact_id))
        .join(Contact.organisation)
        .where(r.mailing_id == mailing_id)
        .order_by(r.id)
        .execution_options(yield_per=2000)
    )


RECIPIENT_EXPORT_HEADERS = [
    _l("email"),
    _l("organisation"),
    _l("status"),
    _l("attempts"),
    _l("sent_at"),
    _l("answer"),
]


def status_counts(mailing_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(MailingRecipient.status, func.count())
        .where(MailingRecipient.mailing_id == mailing_id)
        .group_by(MailingRecipient.status)
    )
    return dict(rows.all())


def sample_recipient(mailing: Mailing):
    """The first recipient the audience would have, shaped for ``sending.compose``
    (None when the audience is empty): the preview shows a real one."""
    chosen = audience.contacts(mailing.audience, mailing.purpose, mailing.tenant_id).subquery()
    return db.session.execute(
        select(
            Contact.id.label("contact_id"),
            Contact.email,
            Contact.first_name,
            Contact.last_name,
            Organisation.name.label("organisation"),
            AssociationMembership.paid_until,
        )
        .join(chosen, chosen.c.id == Contact.id)
        .join(Contact.organisation)
        .outerjoin(Organisation.membership)
        .order_by(Contact.id)
        .limit(1)
    ).first()


# -- what a contact or an organisation was sent (their pages; the timeline) -----

SENT_SHOWN = 20


def _sent(condition, limit: int):
    r = MailingRecipient
    return db.session.execute(
        select(
            func.coalesce(r.sent_at, Mailing.started_at, Mailing.created_at).label("when"),
            Mailing.id.label("mailing_id"),
            func.coalesce(r.subject, Mailing.subject).label("subject"),
            Mailing.name,
            r.status,
            r.email,
            User.name.label("by"),
            Contact.id.label("contact_id"),
        )
        .join(Mailing, and_(Mailing.tenant_id == r.tenant_id, Mailing.id == r.mailing_id))
        .join(Contact, and_(Contact.tenant_id == r.tenant_id, Contact.id == r.contact_id))
        .outerjoin(User, User.id == Mailing.created_by_id)
        .where(condition, r.status.in_(("sent", "failed")))
        .order_by(r.sent_at.desc().nulls_last(), r.id.desc())
        .limit(limit)
    ).all()


def sent_to_contact(contact_id: int, limit: int = SENT_SHOWN) -> list:
    """Mail sent (or that failed) to one contact, newest first: rows with
    ``when``, ``subject`` (as the contact got it), ``name`` (the mailing's),
    ``status``, ``email``, ``by`` (the author; None for renewal reminders)."""
    return _sent(MailingRecipient.contact_id == contact_id, limit)


def sent_to_organisation(org_id: int, limit: int = SENT_SHOWN) -> list:
    """The same for every contact of one organisation."""
    return _sent(Contact.organisation_id == org_id, limit)
