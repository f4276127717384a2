"""Writing tags and their links (flush, never commit).

Links are written set-based, whatever the number of rows: one INSERT ... SELECT
(or one DELETE) for the links and one INSERT ... SELECT for their audit events,
both from the same SELECT of ids. The ids' SELECT must name the tenant itself
(``crm.segments.queries`` does): the ORM's automatic tenant criteria apply to a
top-level SELECT only, not to one inside an INSERT (row-level security still
holds on PostgreSQL). Assumes the caller checked that the user is staff.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
)

from crm.conflicts import guard_unique, name_taken
from crm.models import AuditEvent, Contact, Organisation, Tag, contact_tags, organisation_tags
from crm.models.base import utcnow
from crm.validation import RuleError


class TagError(RuleError):
    """A rule of tags refused the change."""


@dataclass(frozen=True)
class Target:
    """What a tag is put on: its link table and the column naming the row."""

    entity_type: str  # the audit trail's name for the rows
    links: object
    column: str
    model: type


TARGETS = {
    "organisations": Target("organisations", organisation_tags, "organisation_id", Organisation),
    "contacts": Target("contacts", contact_tags, "contact_id", Contact),
}
NAME_MAX = 60


def _checked_name(session, name: str, tag_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise TagError("Name the tag.", "name")
    if len(name) > NAME_MAX:
        raise TagError(f"At most {NAME_MAX} characters.", "name")
    if name_taken(session, Tag, name, tag_id):
        raise TagError("A tag of this name exists already.", "name")
    return name


def create_tag(session, tenant_id: int, name: str) -> Tag:
    name = _checked_name(session, name)
    tag = Tag(tenant_id=tenant_id, name=name)
    refusal = TagError("A tag of this name exists already.", "name")
    guard_unique(session, lambda: (session.add(tag), session.flush()), lambda: None, refusal)
    return tag


def find_tag(session, name: str) -> Tag | None:
    cleaned = " ".join((name or "").split())
    return session.scalar(select(Tag).where(func.lower(Tag.name) == cleaned.lower()))


def tag_named(session, tenant_id: int, name: str) -> Tag:
    """The tag of this name (any case), created when there is none."""
    existing = find_tag(session, name)
    return existing if existing is not None else create_tag(session, tenant_id, name)


def rename_tag(session, tag: Tag, name: str) -> Tag:
    tag.name = _checked_name(session, name, tag.id)
    session.flush()
    return tag


def delete_tag(session, tag: Tag) -> None:
    """Its links go with it (ON DELETE CASCADE); the deletion is audited."""
    session.delete(tag)
    session.flush()


def ids_of(tenant_id: int, kind: str, ids) -> object:
    """A SELECT of the tenant's ``kind`` rows among ``ids`` (an id list from a form)."""
    model = TARGETS[kind].model
    return select(model.id).where(model.tenant_id == tenant_id, model.id.in_(list(ids)))


def _audit_rows(tenant_id: int, target: Target, ids, action: str, changes: dict, user_id):
    """A SELECT of audit rows, one per id of ``ids`` (a subquery with column ``id``);
    the actor is ``user_id`` (a job's requester), else the signed-in user."""
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    ip = request.remote_addr if has_request_context() else None
    # Typed literals: PostgreSQL infers no type for a parameter in a SELECT list.
    return select(
        literal(tenant_id, Integer()),
        literal(user_id, Integer()),
        literal(action, String()),
        literal(target.entity_type, String()),
        ids.c.id,
        literal(changes, JSON()),
        literal(ip, String()),
        literal(utcnow(), DateTime(timezone=True)),
    )


_AUDIT_COLUMNS = (
    "tenant_id",
    "user_id",
    "action",
    "entity_type",
    "entity_id",
    "changes",
    "ip",
    "created_at",
)


def _linked(target: Target, tenant_id: int, tag_id: int, row_id):
    links = target.links.c
    return exists().where(
        links.tenant_id == tenant_id, links.tag_id == tag_id, links[target.column] == row_id
    )


def tag_rows(session, tenant_id: int, tag: Tag, kind: str, ids, *, user_id=None) -> int:
    """Put ``tag`` on the rows whose ids ``ids`` (a SELECT of one column) lists;
    rows that have it already are left alone. Two statements; how many were tagged."""
    target = TARGETS[kind]
    chosen = ids.subquery("chosen")
    new = (
        select(chosen.c[chosen.c.keys()[0]].label("id"))
        .where(~_linked(target, tenant_id, tag.id, chosen.c[chosen.c.keys()[0]]))
        .subquery("new")
    )
    session.execute(
        insert(AuditEvent.__table__).from_select(
            _AUDIT_COLUMNS,
            _audit_rows(tenant_id, target, new, "tag", {"tags": {"added": tag.name}}, user_id),
        )
    )
    result = session.execute(
        insert(target.links)
        .from_select(
            ["tenant_id", "tag_id", target.column],
            select(literal(tenant_id, Integer()), literal(tag.id, Integer()), new.c.id),
        )
        # RETURNING, not rowcount: the driver may not count an INSERT ... SELECT.
        .returning(target.links.c.tag_id)
    )
    return len(result.all())


def untag_rows(session, tenant_id: int, tag: Tag, kind: str, ids, *, user_id=None) -> int:
    """Take ``tag`` off the rows ``ids`` lists (those that have it). Two statements."""
    target = TARGETS[kind]
    links = target.links.c
    chosen = ids.subquery("chosen")
    first = chosen.c[chosen.c.keys()[0]]
    tagged = (
        select(first.label("id"))
        .where(_linked(target, tenant_id, tag.id, first))
        .subquery("tagged")
    )
    session.execute(
        insert(AuditEvent.__table__).from_select(
            _AUDIT_COLUMNS,
            _audit_rows(
                tenant_id, target, tagged, "untag", {"tags": {"removed": tag.name}}, user_id
            ),
        )
    )
    result = session.execute(
        delete(target.links)
        .where(
            links.tenant_id == tenant_id,
            links.tag_id == tag.id,
            links[target.column].in_(select(first)),
        )
        .returning(links.tag_id)
    )
    return len(result.all())
