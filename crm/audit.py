"""The audit trail, written automatically for every change the ORM flushes.

Models opt out with ``__audit__ = False`` (rows that are themselves history).
Events that are not row changes (login, failed login, an import) go through
``record``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import event, insert, inspect

from crm.models import AuditEvent, Tenant, User
from crm.models.base import TenantOwned, Versioned, utcnow
from crm.tenancy import current_tenant_id

REDACTED = {"password_hash"}
SKIPPED = {"created_at", "updated_at", "session_version", "last_login_at"}


def _json(value):
    if isinstance(value, date | datetime | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if hasattr(value, "code"):  # reference rows in relationship collections
        return value.code
    return value


def _actor() -> tuple[int | None, str | None]:
    if not has_request_context():
        return None, None
    user_id = current_user.id if current_user.is_authenticated else None
    return user_id, request.remote_addr


def _audited(obj) -> bool:
    return isinstance(obj, TenantOwned | User | Tenant) and getattr(obj, "__audit__", True)


def _changes(obj, only_changed: bool) -> dict:
    """Changed fields as {field: [before, after]}, or all fields as {field: value}."""
    state = inspect(obj)
    out = {}
    for prop in state.mapper.attrs:
        key = prop.key
        is_column = hasattr(prop, "columns")
        is_collection = getattr(prop, "secondary", None) is not None
        if key in SKIPPED or not (is_column or is_collection):
            continue
        hist = state.attrs[key].history
        if only_changed and not hist.has_changes():
            continue
        if is_collection:
            before = _json([*hist.unchanged, *hist.deleted])
            after = _json([*hist.unchanged, *hist.added])
        else:
            before = _json(hist.deleted[0]) if hist.deleted else None
            after = _json(hist.added[0]) if hist.added else _json(state.dict.get(key))
        changed = before != after  # compared before redaction hides the values
        if key in REDACTED:
            before, after = ("***" if before else None), "***"
        if not only_changed:
            out[key] = after
        elif changed:
            out[key] = [before, after]
    return out


def _tenant_of(obj) -> int | None:
    """Tenant rows log to their tenant; users and tenants to the current scope
    (None, the alliance log, when an alliance admin acts)."""
    if isinstance(obj, TenantOwned):
        return obj.tenant_id
    return current_tenant_id()


def install(session_factory) -> None:
    if not event.contains(session_factory, "after_flush", _write_events):
        event.listen(session_factory, "after_flush", _write_events)


def _write_events(session, flush_context) -> None:
    rows = []
    for action, objs in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objs:
            if not _audited(obj):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=True):
                continue
            changes = _changes(obj, only_changed=action == "update")
            if action == "update" and isinstance(obj, Versioned):
                # The UPDATE bumped the version (already on the instance): the
                # conflict page finds who made each version since a form was opened.
                changes["version"] = [obj.version - 1, obj.version]
            if action == "update" and not changes:
                continue
            verb = action
            if action == "update" and changes.get("archived") == [False, True]:
                verb = "archive"
            elif action == "update" and "role" in changes:
                verb = "role_change"
            elif action == "update" and "password_hash" in changes:
                verb = "password_change"
            rows.append(
                {
                    "tenant_id": _tenant_of(obj),
                    "action": verb,
                    "entity_type": type(obj).__tablename__,
                    # New rows have no identity key yet in after_flush; their
                    # primary key is already on the instance.
                    "entity_id": inspect(obj).mapper.primary_key_from_instance(obj)[-1],
                    "changes": changes,
                    "created_at": utcnow(),
                }
            )
    if rows:
        # The actor only when something is logged: a flush of unaudited rows
        # (an outbox message written in an association's scope for an alliance
        # admin) must not reload the signed-in user in a scope that hides them.
        user_id, ip = _actor()
        rows = [{**row, "user_id": user_id, "ip": ip} for row in rows]
        session.connection().execute(insert(AuditEvent.__table__), rows)


def record(
    session,
    action: str,
    *,
    tenant_id: int | None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    summary: str | None = None,
    changes: dict | None = None,
    user_id: int | None = None,
) -> None:
    """Add an event that is not a row change (login, failed login, an import)."""
    actor, ip = _actor()
    session.add(
        AuditEvent(
            tenant_id=tenant_id,
            user_id=user_id if user_id is not None else actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            summary=summary,
            changes=changes,
            ip=ip,
        )
    )
