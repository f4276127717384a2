"""Writing tags and their links (flush, never commit).

Links are written set-based, whatever the number of rows: one INSERT ... SELECT
... ON CONFLICT DO NOTHING (or one DELETE) for the links, RETURNING the rows it
changed, and one multi-row INSERT of their audit events. The ids' SELECT must name the tenant itself
(``crm.segments.queries`` does): the ORM's automatic tenant criteria apply to a
top-level SELECT only, not to one inside an INSERT (row-level security still
holds on PostgreSQL). Assumes the caller checked that the user is staff.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Integer, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.conflicts import guard_unique, name_taken
from crm.i18n import _
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
        raise TagError(_("Name the tag."), "name")
    if len(name) > NAME_MAX:
        raise TagError(_("At most %(max)s characters.", max=NAME_MAX), "name")
    if name_taken(session, Tag, name, tag_id):
        raise TagError(_("A tag of this name exists already."), "name")
    return name


def create_tag(session, tenant_id: int, name: str) -> Tag:
    name = _checked_name(session, name)
    tag = Tag(tenant_id=tenant_id, name=name)
    refusal = TagError(_("A tag of this name exists already."), "name")
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


def _audit(session, tenant_id: int, target: Target, row_ids, action: str, changes, user_id):
    """One audit event per row changed, in one INSERT (a multi-row VALUES: the
    ids come back from the write itself, so only rows really changed are logged).
    The actor is ``user_id`` (a job's requester), else the signed-in user."""
    if not row_ids:
        return
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    ip = request.remote_addr if has_request_context() else None
    now = utcnow()
    session.execute(
        insert(AuditEvent.__table__),
        [
            {
                "tenant_id": tenant_id,
                "user_id": user_id,
                "action": action,
                "entity_type": target.entity_type,
                "entity_id": row_id,
                "changes": changes,
                "ip": ip,
                "created_at": now,
            }
            for row_id in row_ids
        ],
    )


def _insert_ignoring_duplicates(session, table):
    """INSERT ... ON CONFLICT DO NOTHING, on PostgreSQL and SQLite alike."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


def tag_rows(session, tenant_id: int, tag: Tag, kind: str, ids, *, user_id=None) -> int:
    """Put ``tag`` on the rows whose ids ``ids`` (a SELECT of one column) lists;
    rows that have it already are left alone (ON CONFLICT DO NOTHING on the link's
    primary key). One INSERT ... SELECT for the links, one INSERT for their audit
    events; how many rows were tagged."""
    target = TARGETS[kind]
    chosen = ids.subquery("chosen")
    row_id = chosen.c[chosen.c.keys()[0]]
    added = session.scalars(
        _insert_ignoring_duplicates(session, target.links)
        .from_select(
            ["tenant_id", "tag_id", target.column],
            # Typed literals: PostgreSQL infers no type for a parameter in a SELECT list.
            select(literal(tenant_id, Integer()), literal(tag.id, Integer()), row_id)
            # SQLite reads "ON CONFLICT" after a bare FROM as a join's ON: a WHERE
            # ends the SELECT (its documented parsing ambiguity).
            .where(row_id.is_not(None)),
        )
        .returning(target.links.c[target.column])
    ).all()
    _audit(session, tenant_id, target, added, "tag", {"tags": {"added": tag.name}}, user_id)
    return len(added)


def untag_rows(session, tenant_id: int, tag: Tag, kind: str, ids, *, user_id=None) -> int:
    """Take ``tag`` off the rows ``ids`` lists (those that have it): one DELETE,
    one INSERT of their audit events; how many rows were untagged."""
    target = TARGETS[kind]
    links = target.links.c
    removed = session.scalars(
        delete(target.links)
        .where(
            links.tenant_id == tenant_id,
            links.tag_id == tag.id,
            links[target.column].in_(ids),
        )
        .returning(links[target.column])
    ).all()
    _audit(session, tenant_id, target, removed, "untag", {"tags": {"removed": tag.name}}, user_id)
    return len(removed)
