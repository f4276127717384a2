"""Filters or a segment -> a SELECT of organisation or contact ids; the segments' list."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, func, select
from werkzeug.datastructures import MultiDict

from crm.extensions import db
from crm.models import Contact, Organisation, Segment

# Arguments of a list that are a view of it, not a filter: never saved (``segment``
# names the segment a list was opened from).
NOT_SAVED = ("page", "per_page", "segment")


def _parsers(source: str):
    from crm.contacts.queries import ContactFilters
    from crm.members.queries import DirectoryFilters

    return {"members": DirectoryFilters, "contacts": ContactFilters}[source]


def normalised(source: str, args: Mapping) -> tuple[dict, list[str]]:
    """The arguments the list understands (as it would write them again), and
    the ones it ignores (``key=value``): an unknown key, or a value no longer valid
    (a deleted tag, an unknown status)."""
    args = args if isinstance(args, MultiDict) else MultiDict(dict(args))
    kept = _parsers(source).from_args(args).args()
    for key in NOT_SAVED:
        kept.pop(key, None)
    ignored = [
        f"{key}={value}"
        for key, value in args.items()
        if key not in kept and key not in NOT_SAVED and value not in ("", None)
    ]
    return {k: str(v) for k, v in kept.items()}, ignored


def _of(filters, source: str) -> tuple[str, MultiDict]:
    if isinstance(filters, Segment):
        return filters.source, MultiDict(filters.filters or {})
    return source, filters if isinstance(filters, MultiDict) else MultiDict(dict(filters))


def organisation_ids(tenant_id: int, filters, source: str = "members") -> Select:
    """A SELECT of the ids of the organisations ``filters`` (a segment, or a list's
    query arguments) stand for: the directory's matches, or for contacts-list
    filters, the organisations of the matching contacts."""
    source, args = _of(filters, source)
    if source == "contacts":
        from crm.contacts.queries import ContactFilters, organisation_ids_matching

        query = organisation_ids_matching(ContactFilters.from_args(args))
        return query.where(Contact.tenant_id == tenant_id)
    from crm.members.queries import DirectoryFilters, directory_ids

    query = directory_ids(DirectoryFilters.from_args(args))
    return query.where(Organisation.tenant_id == tenant_id)


def contact_ids(tenant_id: int, filters, source: str = "members") -> Select:
    """A SELECT of the ids of the contacts ``filters`` stand for: the contacts
    list's matches, or for directory filters, the (not erased) contacts of the
    matching organisations."""
    from crm.contacts.queries import ContactFilters, contact_ids_matching

    source, args = _of(filters, source)
    if source == "contacts":
        query = contact_ids_matching(ContactFilters.from_args(args))
        return query.where(Contact.tenant_id == tenant_id)
    return select(Contact.id).where(
        Contact.tenant_id == tenant_id,
        Contact.erased_at.is_(None),
        Contact.organisation_id.in_(organisation_ids(tenant_id, args)),
    )


def segments_page(page: int, per_page: int):
    return db.paginate(
        select(Segment).order_by(func.lower(Segment.name), Segment.id),
        page=page,
        per_page=per_page,
        error_out=False,
    )


def segment_or_none(segment_id: int) -> Segment | None:
    return db.session.scalar(select(Segment).where(Segment.id == segment_id))


def segment_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Segment.id, Segment.name).order_by(func.lower(Segment.name), Segment.id)
    )
    return [tuple(r) for r in rows]
