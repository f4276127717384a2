"""Who may be written to, for which purpose (``crm.models.mail.PURPOSES``).

Membership communications go to every contact with an address unless they
refused them; newsletters and events only to contacts who agreed. Erased
contacts get nothing. The rule lives in ``may_receive`` alone, so a mailing's
count before sending and its sending agree.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, select
from sqlalchemy.sql import ColumnElement

from crm.models import Contact
from crm.models.base import utcnow
from crm.models.mail import OPT_OUT_PURPOSES, PURPOSES, EmailConsent


def may_receive(purpose: str, contact=Contact) -> ColumnElement[bool]:
    """A condition on ``Contact`` (or an alias of it, ``contact``): this contact
    may be sent mail of ``purpose``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    said = select(EmailConsent.id).where(
        EmailConsent.tenant_id == contact.tenant_id,
        EmailConsent.contact_id == contact.id,
        EmailConsent.purpose == purpose,
    )
    if purpose in OPT_OUT_PURPOSES:
        agreed = ~exists(said.where(EmailConsent.granted.is_(False)))
    else:
        agreed = exists(said.where(EmailConsent.granted.is_(True)))
    return and_(contact.email.is_not(None), contact.erased_at.is_(None), agreed)


def record(
    session, tenant_id: int, contact_id: int, purpose: str, granted: bool, source: str
) -> EmailConsent:
    """Set what the contact said about ``purpose``; the caller checked who may."""
    consent = _answer(session, tenant_id, contact_id, purpose)
    if consent is None:
        consent = EmailConsent(tenant_id=tenant_id, contact_id=contact_id, purpose=purpose)
        session.add(consent)
    consent.granted = granted
    consent.source = source
    consent.changed_at = utcnow()
    session.flush()
    return consent


def _answer(session, tenant_id: int, contact_id: int, purpose: str) -> EmailConsent | None:
    return session.scalar(
        select(EmailConsent).where(
            EmailConsent.tenant_id == tenant_id,
            EmailConsent.contact_id == contact_id,
            EmailConsent.purpose == purpose,
        )
    )


# What a form or an import can say about one purpose: agreed, refused, or nothing.
SAID = {"granted": True, "refused": False, "": None}


def set_said(
    session, tenant_id: int, contact_id: int, purpose: str, granted: bool | None, source: str
) -> bool:
    """Make the contact's answer for ``purpose`` be ``granted`` (None: nothing
    said, the row goes). An unchanged answer keeps its date and source. True if
    something changed; the audit hook logs the row's change."""
    consent = _answer(session, tenant_id, contact_id, purpose)
    if granted is None:
        if consent is None:
            return False
        session.delete(consent)
        session.flush()
        return True
    if consent is not None and consent.granted == granted:
        return False
    record(session, tenant_id, contact_id, purpose, granted, source)
    return True


def of_contacts(session, contact_ids) -> dict[int, dict[str, EmailConsent]]:
    """{contact id: {purpose: consent}} for these contacts, in one query."""
    ids = list(contact_ids)
    out: dict[int, dict[str, EmailConsent]] = {i: {} for i in ids}
    if ids:
        rows = session.scalars(select(EmailConsent).where(EmailConsent.contact_id.in_(ids)))
        for consent in rows:
            out[consent.contact_id][consent.purpose] = consent
    return out
