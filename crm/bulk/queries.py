"""The export of ticked rows: the list's own export columns, for a SELECT of ids."""

from __future__ import annotations

from sqlalchemy import select

from crm.exports import columns, headers
from crm.extensions import db
from crm.models import Contact, Organisation


def _export(source: str):
    if source == "members":
        from crm.members.queries import EXPORT
    else:
        from crm.contacts.queries import EXPORT
    return EXPORT


def headers_of(source: str) -> list[str]:
    return headers(_export(source))


def export_rows(source: str, ids):
    """Rows of the list's export for the ids ``ids`` (a SELECT), by id."""
    if source == "members":
        query = (
            select(*columns(_export(source)))
            .select_from(Organisation)
            .outerjoin(Organisation.membership)
            .where(Organisation.id.in_(ids))
            .order_by(Organisation.id)
        )
    else:
        from crm.contacts.queries import joined

        query = joined(*columns(_export(source))).where(Contact.id.in_(ids)).order_by(Contact.id)
    return db.session.execute(query).all()
