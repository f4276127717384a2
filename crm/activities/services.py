"""Writes of activities: add a note, call or meeting; delete one.

Flush, never commit. The caller checked the user is the association's staff
and loaded the organisation (and contact) in the tenant's scope.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crm.i18n import _
from crm.models import Activity, Contact, Organisation
from crm.models.activity import ACTIVITY_KINDS
from crm.validation import RuleError


class ActivityError(RuleError):
    """A rule of activities refused the change."""


def add_activity(
    session,
    tenant_id: int,
    org: Organisation,
    *,
    kind: str,
    subject: str,
    body: str | None,
    occurred_at: datetime,
    contact_id: int | None,
    author_id: int | None,
) -> Activity:
    """Record an activity about ``org``, optionally with one of its contacts."""
    if kind not in ACTIVITY_KINDS:
        raise ActivityError(_("Choose note, call or meeting."), "kind")
    if contact_id is not None:
        # Scoped to the tenant, and one of this organisation's people only.
        found = session.scalar(
            select(Contact.id).where(Contact.id == contact_id, Contact.organisation_id == org.id)
        )
        if found is None:
            raise ActivityError(_("Choose one of this organisation's contacts."), "contact_id")
    activity = Activity(
        tenant_id=tenant_id,
        organisation_id=org.id,
        contact_id=contact_id,
        kind=kind,
        subject=subject.strip(),
        body=(body or "").strip() or None,
        occurred_at=occurred_at,
        author_id=author_id,
    )
    session.add(activity)
    session.flush()
    return activity


def delete_activity(session, activity: Activity) -> None:
    session.delete(activity)
    session.flush()
