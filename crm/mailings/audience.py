"""Who a mailing goes to: its stored audience resolved to contacts, in SQL.

An audience is a kind and its query arguments, stored on the mailing:

- ``directory``: the member directory's filters (``DirectoryFilters``), so
  "Mail these" from the directory passes the list as it is shown;
- ``contacts``: the contacts list's filters: the matching contacts only;
- ``segment``: a saved segment (``crm.segments``), resolved when the mailing is
  counted or sent, so it follows the segment's filters.

A renewal list is the directory filtered by it (``renewal=overdue`` …).

Each kind gives the organisations it names and, where the list is of contacts,
the contacts too (``_resolve``). Of those, the contacts who may receive the
mailing's purpose (``crm.mail.consent.may_receive``) are its recipients; the
others are counted as excluded, so the page says how many before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, false, func, or_, select, true
from werkzeug.datastructures import MultiDict

from crm import tenancy
from crm.extensions import db
from crm.i18n import _, ngettext
from crm.mail.consent import may_receive
from crm.members.queries import RENEWAL_LISTS, DirectoryFilters, directory_ids
from crm.models import Contact, Organisation
from crm.segments import queries as segments

# Directory arguments that only order or page the list: not part of an audience.
_NOT_AUDIENCE = ("sort", "dir", "page", "per_page")


@dataclass
class _Resolved:
    # Each names the tenant in its SQL: the sender inserts from these SELECTs,
    # and automatic scoping covers ORM SELECTs only.
    organisations: Select  # SELECT of organisation ids (a column named ``id``)
    contacts: Select | None = None  # SELECT of contact ids, when the list is of contacts


def _resolve(audience: dict, tenant_id: int) -> _Resolved:
    kind, args = audience.get("kind", "directory"), audience.get("args") or {}
    if kind == "segment":
        segment = segments.segment_or_none(int(args.get("segment", 0)))
        if segment is None:  # deleted since: nobody, rather than everybody
            return _Resolved(select(Organisation.id).where(false()))
        kind, args = ("contacts" if segment.source == "contacts" else "directory"), segment
    if kind == "contacts":
        organisations = segments.organisation_ids(tenant_id, args, source="contacts")
        return _Resolved(
            select(organisations.subquery().c.organisation_id.label("id")),
            segments.contact_ids(tenant_id, args, source="contacts"),
        )
    if not isinstance(args, MultiDict):
        args = MultiDict(args if isinstance(args, dict) else (args.filters or {}))
    directory = directory_ids(DirectoryFilters.from_args(args))
    return _Resolved(directory.where(Organisation.tenant_id == tenant_id))


def from_args(args) -> dict:
    """The audience the new-mailing page was opened with: a segment, the contacts
    list's or else the directory's query arguments (a renewal list is one of the
    directory's filters), each normalised through its own list's parser."""
    if args.get("segment", "").isdigit():
        return {"kind": "segment", "args": {"segment": args["segment"]}}
    if args.get("source") == "contacts":
        kept, _ignored = segments.normalised("contacts", args)
        return {"kind": "contacts", "args": kept}
    filters = DirectoryFilters.from_args(args)
    kept = {k: v for k, v in filters.args().items() if k not in _NOT_AUDIENCE}
    return {"kind": "directory", "args": {k: str(v) for k, v in kept.items()}}


def _tenant() -> int:
    return tenancy.current_tenant_id()


def organisation_ids(audience: dict, tenant_id: int | None = None) -> Select:
    return _resolve(audience, tenant_id or _tenant()).organisations


def contacts(audience: dict, purpose: str, tenant_id: int) -> Select:
    """(contact id, e-mail) of every recipient: the audience's contacts who may
    receive ``purpose``. The tenant is named in the SQL itself: the sender
    inserts from this SELECT, and automatic scoping covers ORM SELECTs only."""
    resolved = _resolve(audience, tenant_id)
    orgs = resolved.organisations.subquery("audience_orgs")
    query = (
        select(Contact.id, Contact.email)
        .join(orgs, orgs.c.id == Contact.organisation_id)
        .where(Contact.tenant_id == tenant_id, may_receive(purpose))
    )
    if resolved.contacts is not None:
        query = query.where(Contact.id.in_(resolved.contacts))
    return query


@dataclass
class Summary:
    organisations: int
    recipients: int
    excluded: int  # contacts with an address who refused (or never agreed to) the purpose
    no_address: int  # contacts without an address, or erased


def summary(audience: dict, purpose: str) -> Summary:
    """The audience in figures: one statement."""
    resolved = _resolve(audience, _tenant())
    orgs = resolved.organisations.subquery("audience_orgs")
    receiving = may_receive(purpose)
    unreachable = or_(Contact.email.is_(None), Contact.erased_at.is_not(None))
    contact_counts = (
        select(
            func.count().label("all"),
            func.count().filter(receiving).label("receiving"),
            func.count().filter(unreachable).label("unreachable"),
        )
        .select_from(Contact)
        .join(orgs, orgs.c.id == Contact.organisation_id)
        .where(Contact.id.in_(resolved.contacts) if resolved.contacts is not None else true())
        .subquery("contact_counts")
    )
    row = db.session.execute(
        select(
            select(func.count()).select_from(orgs).scalar_subquery(),
            contact_counts.c.all,
            contact_counts.c.receiving,
            contact_counts.c.unreachable,
        )
    ).one()
    organisations, everyone, receiving_count, unreachable_count = row
    return Summary(
        organisations=organisations,
        recipients=receiving_count,
        excluded=everyone - receiving_count - unreachable_count,
        no_address=unreachable_count,
    )


def describe(audience: dict) -> str:
    """The audience in words, for the mailing's page."""
    kind, args = audience.get("kind", "directory"), audience.get("args") or {}
    if kind == "segment":
        segment = segments.segment_or_none(int(args.get("segment", 0)))
        if segment is None:
            return _("A segment that was deleted: nobody")
        return _("Segment “%(name)s”", name=segment.name)
    if kind == "contacts":
        described = ", ".join(f"{k} = {v}" for k, v in sorted(args.items()))
        if described:
            return _("Contacts list filtered by %(filters)s", filters=described)
        return _("Contacts list: every contact")
    if not args:
        return _("All member organisations in the directory")
    if set(args) <= {"renewal", "days"} and args.get("renewal") in RENEWAL_LISTS:
        name = RENEWAL_LISTS[args["renewal"]]
        if args.get("renewal") == "due" and str(args.get("days") or "").isdigit():
            return ngettext(
                "Renewal list: %(list)s (within %(num)s day)",
                "Renewal list: %(list)s (within %(num)s days)",
                int(args["days"]),
                list=name,
            )
        return _("Renewal list: %(list)s", list=name)
    filters = ", ".join(f"{k} = {v}" for k, v in sorted(args.items()))
    return _("Directory filtered by %(filters)s", filters=filters)
