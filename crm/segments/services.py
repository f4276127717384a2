"""Saving, renaming and deleting segments (flush, never commit; audited by the ORM).

Assumes the caller checked that the user is the association's staff."""

from __future__ import annotations

from crm.conflicts import guard_unique, name_taken
from crm.i18n import _
from crm.models import Segment
from crm.models.segment import SEGMENT_SOURCES
from crm.segments.queries import normalised
from crm.validation import RuleError


class SegmentError(RuleError):
    """A rule of segments refused the change."""


def _check_name(session, name: str, segment_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise SegmentError(_("Name the segment."), "name")
    if name_taken(session, Segment, name, segment_id):
        raise SegmentError(_("Another segment has this name; choose another."), "name")
    return name


def save_segment(session, tenant_id: int, name: str, source: str, args, *, user_id: int | None):
    """A new segment of ``source``'s list with its filters ``args`` (query arguments;
    only those the list understands are kept)."""
    if source not in SEGMENT_SOURCES:
        raise SegmentError(_("Segments are saved from the members directory or the contacts list."))
    name = _check_name(session, name)
    filters, _ignored = normalised(source, args)
    segment = Segment(
        tenant_id=tenant_id, name=name, source=source, filters=filters, created_by_id=user_id
    )
    refusal = SegmentError(_("Another segment has this name; choose another."), "name")
    guard_unique(session, lambda: (session.add(segment), session.flush()), lambda: None, refusal)
    return segment


def rename_segment(session, segment: Segment, name: str) -> Segment:
    segment.name = _check_name(session, name, segment.id)
    session.flush()
    return segment


def delete_segment(session, segment: Segment) -> None:
    session.delete(segment)
    session.flush()
