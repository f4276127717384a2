"""Reading tags: the association's tags with their use, and the chips of a record."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Tag, contact_tags, organisation_tags


def tag_or_none(tag_id: int) -> Tag | None:
    return db.session.scalar(select(Tag).where(Tag.id == tag_id))


def _uses(links, tenant_id: int):
    return (
        select(links.c.tag_id, func.count().label("n"))
        .where(links.c.tenant_id == tenant_id)
        .group_by(links.c.tag_id)
        .subquery()
    )


def tags_with_counts(tenant_id: int) -> list:
    """Every tag with how many organisations and contacts carry it: one statement."""
    orgs, people = _uses(organisation_tags, tenant_id), _uses(contact_tags, tenant_id)
    return db.session.execute(
        select(
            Tag.id,
            Tag.name,
            func.coalesce(orgs.c.n, 0).label("organisations"),
            func.coalesce(people.c.n, 0).label("contacts"),
        )
        .outerjoin(orgs, orgs.c.tag_id == Tag.id)
        .outerjoin(people, people.c.tag_id == Tag.id)
        .order_by(func.lower(Tag.name), Tag.id)
    ).all()


def _chips(links, column: str, tenant_id: int, ids) -> dict[int, list]:
    rows = db.session.execute(
        select(links.c[column], Tag.id, Tag.name)
        .join(Tag, (Tag.tenant_id == links.c.tenant_id) & (Tag.id == links.c.tag_id))
        .where(links.c.tenant_id == tenant_id, links.c[column].in_(list(ids)))
        .order_by(func.lower(Tag.name))
    )
    out: dict[int, list] = {}
    for row_id, tag_id, name in rows:
        out.setdefault(row_id, []).append((tag_id, name))
    return out


def organisation_chips(tenant_id: int, org_id: int) -> list:
    return _chips(organisation_tags, "organisation_id", tenant_id, [org_id]).get(org_id, [])


def contact_chips(tenant_id: int, contact_ids) -> dict[int, list]:
    """The tags of several contacts in one statement: {contact id: [(tag id, name)]}."""
    return _chips(contact_tags, "contact_id", tenant_id, contact_ids) if contact_ids else {}
