"""Who a mailing goes to: its stored audience resolved to contacts, in SQL.

An audience is a dict of query arguments: the member directory's filters
(``crm.members.queries.DirectoryFilters``), so "Mail these" from the directory
passes the list as it is shown. A new kind of audience (a saved segment: its
``segment`` argument) is one entry in ``SOURCES``: a function from the
arguments to a SELECT of organisation ids. Contacts of those organisations
who may receive the mailing's purpose (``crm.mail.consent.may_receive``) are
its recipients; the others are counted as excluded, so the page says how many
before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from werkzeug.datastructures import MultiDict

from crm.extensions import db
from crm.mail.consent import may_receive
from crm.members.queries import DirectoryFilters, directory_ids
from crm.models import Contact, Organisation

# Directory arguments that only order or page the list: not part of an audience.
_NOT_AUDIENCE = ("sort", "dir", "page", "per_page")


def _directory(args: dict) -> Select:
    return directory_ids(DirectoryFilters.from_args(MultiDict(args)))


# Which organisations an audience names, by its kind. Segments (saved directory
# filters) join here as ("segment", ...) once their table exists.
SOURCES: dict[str, Callable[[dict], Select]] = {"directory": _directory}


def from_args(args) -> dict:
    """The audience the new-mailing page was opened with (the directory's query
    arguments), normalised through the directory's own parser."""
    filters = DirectoryFilters.from_args(args)
    kept = {k: v for k, v in filters.args().items() if k not in _NOT_AUDIENCE}
    return {"kind": "directory", "args": {k: str(v) for k, v in kept.items()}}


def organisation_ids(audience: dict) -> Select:
    source = SOURCES.get(audience.get("kind", "directory"), _directory)
    return source(audience.get("args") or {})


def contacts(audience: dict, purpose: str, tenant_id: int) -> Select:
    """(contact id, e-mail) of every recipient: the audience's contacts who may
    receive ``purpose``. The tenant is named in the SQL itself: the sender
    inserts from this SELECT, and automatic scoping covers ORM SELECTs only."""
    orgs = (
        organisation_ids(audience)
        .where(Organisation.tenant_id == tenant_id)
        .subquery("audience_orgs")
    )
    return (
        select(Contact.id, Contact.email)
        .join(orgs, orgs.c.id == Contact.organisation_id)
        .where(Contact.tenant_id == tenant_id, may_receive(purpose))
    )


@dataclass
class Summary:
    organisations: int
    recipients: int
    excluded: int  # contacts with an address who refused (or never agreed to) the purpose
    no_address: int  # contacts without an address, or erased


def summary(audience: dict, purpose: str) -> Summary:
    """The audience in figures: one statement."""
    orgs = organisation_ids(audience).subquery("audience_orgs")
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
    args = audience.get("args") or {}
    if not args:
        return "All member organisations in the directory"
    return "Directory filtered by " + ", ".join(f"{k} = {v}" for k, v in sorted(args.items()))
