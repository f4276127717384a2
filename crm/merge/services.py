"""Merging two organisations of an association into one.

``merge_organisations`` assumes the caller checked that the user is the
association's secretariat or admin (``crm.accounts.access.STAFF``) and loaded
both organisations in the association's scope. It flushes and never commits:
the view commits once, so the merge is one transaction.
"""

from __future__ import annotations

from sqlalchemy import select

from crm import audit
from crm.conflicts import touch
from crm.i18n import _
from crm.merge.repoint import MergeError, repoint
from crm.models import Organisation
from crm.models.organisation import PROFILE_FIELDS
from crm.profiles import services as profiles

# The fields chosen one by one when the two organisations differ.
FIELDS = (*PROFILE_FIELDS, "discoverable")
SURVIVOR, OTHER = "survivor", "other"


def refusal(survivor: Organisation, other: Organisation | None) -> str | None:
    """Why these two cannot be merged, or None."""
    if other is None:
        return _("Choose the organisation to merge into this one.")
    if other.id == survivor.id:
        return _("An organisation cannot be merged with itself.")
    if other.tenant_id != survivor.tenant_id:
        return _("Organisations of two associations cannot be merged.")
    for org in (survivor, other):
        if org.merged_into_id is not None:
            return _("%(name)s was already merged into another organisation.", name=org.name)
    if survivor.is_external != other.is_external:
        return _(
            "A member and an external partner cannot be merged: record the partner as a "
            "member first."
        )
    return None


def differences(survivor: Organisation, other: Organisation) -> list[str]:
    """The fields where both have a value and the values differ (the user chooses)."""
    return [
        name
        for name in FIELDS
        if getattr(other, name) not in (None, "")
        and getattr(survivor, name) not in (None, "")
        and getattr(other, name) != getattr(survivor, name)
    ]


def merged_values(survivor: Organisation, other: Organisation, chosen: dict[str, str]) -> dict:
    """The survivor's values after the merge: the chosen side where they differ, the
    survivor's where it has one, else the other's."""
    values = {}
    for name in FIELDS:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        if chosen.get(name) == OTHER or mine in (None, ""):
            values[name] = theirs if theirs not in (None, "") else mine
        else:
            values[name] = mine
    values["discoverable"] = bool(values["discoverable"])
    return values


def merge_organisations(
    session, tenant_id: int, survivor: Organisation, other: Organisation, chosen: dict[str, str]
) -> dict[str, int]:
    """Merge ``other`` into ``survivor``: every row referring to ``other`` moves to
    ``survivor`` (``crm.merge.repoint``), the survivor takes the chosen values,
    and ``other`` is archived with ``merged_into_id``. Returns the rows moved per
    ``table.column``; both organisations' audit trails record it."""
    message = refusal(survivor, other)
    if message:
        raise MergeError(message, "other_id")
    # Both rows locked (PostgreSQL) until the commit: two merges cannot cross.
    session.execute(
        select(Organisation.id)
        .where(Organisation.id.in_([survivor.id, other.id]))
        .with_for_update()
    )
    values = merged_values(survivor, other, chosen)
    survivor_id, other_id, other_name = survivor.id, other.id, other.name
    moved = repoint(session, tenant_id, Organisation.__table__, other_id, survivor_id)
    # The statements above changed rows behind the ORM's back: read them again.
    session.expire_all()
    survivor = session.get(Organisation, survivor_id)
    other = session.get(Organisation, other_id)
    other.pic = None  # a PIC names one organisation: the other lets go of it first
    other.archived = True
    other.discoverable = False
    other.merged_into_id = survivor_id
    session.flush()
    for name, value in values.items():
        setattr(survivor, name, value)
    survivor.refresh_size_class()
    touch(survivor)  # its contacts, memberships and networks changed too
    session.flush()
    profiles.follow_organisation(session, survivor)
    profiles.follow_organisation(session, other)
    counts = {name: n for name, n in sorted(moved.items()) if n}
    for org_id, summary in (
        (survivor_id, f"Merged {other_name} (#{other_id}) into this organisation."),
        (other_id, f"Merged into {survivor.name} (#{survivor_id})."),
    ):
        audit.record(
            session,
            "merge",
            tenant_id=tenant_id,
            entity_type="organisations",
            entity_id=org_id,
            summary=summary,
            changes={"survivor": survivor_id, "merged": other_id, "rows": counts},
        )
    session.flush()
    return counts
