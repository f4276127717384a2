"""Stale edits: a form carries the version of the record it was opened at; a save
from an older version shows the conflict page instead of overwriting anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import jsonify, render_template, request
from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from wtforms import IntegerField
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from crm.extensions import db
from crm.i18n import _
from crm.models import AuditEvent, User
from crm.models.base import Versioned, utcnow
from crm.validation import RuleError

# Form fields filled from a collection or from other rows: the audit trail does
# not give their value by id, so what the user opened is unknown there.
COLLECTIONS = {"ecosystem_ids", "flagship_ids", "cluster_ids"}
# The latest changes the conflict page lists.
SHOWN_CHANGES = 10
# Fields that are about the save itself, never compared.
NOT_COMPARED = {"csrf_token", "version"}


def version_field() -> IntegerField:
    """The hidden field that carries the version the user opened."""
    return IntegerField(widget=HiddenInput(), validators=[Optional()])


class EditConflict(Exception):
    """The record changed since the form was opened at ``opened``."""

    def __init__(self, obj, opened: int):
        super().__init__(f"{type(obj).__name__} changed since version {opened}")
        self.obj, self.opened = obj, opened


def check_version(obj, opened: int | None) -> None:
    """Refuse a save from a form opened at another version of ``obj``.

    ``None`` (no form, as in imports) checks nothing here; the UPDATE still
    checks the version read in this request (``version_id_col``).
    """
    if opened is not None and obj is not None and opened != obj.version:
        raise EditConflict(obj, opened)


@dataclass
class Row:
    label: str
    yours: str
    current: str
    conflicting: bool  # changed by you and by someone else: the form shows theirs
    kept_yours: bool  # the form holds your value (you alone changed it)


@dataclass
class Change:
    at: datetime
    who: str
    fields: list[str]


@dataclass
class Conflict:
    """What the conflict page shows; the form itself is already merged."""

    rows: list[Row] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    gone: bool = False  # the record was deleted meanwhile


def _canonical(value):
    """One spelling per value, so '12', 12 and Decimal('12.00') compare equal."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return sorted(str(v) for v in value)
    text = str(value).strip()
    try:
        return Decimal(text.replace(",", "")).normalize()
    except InvalidOperation:
        return text


def _same(a, b) -> bool:
    return _canonical(a) == _canonical(b)


def _shown(form_field, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    labels = {
        str(getattr(c, "value", None) if hasattr(c, "value") else c[0]): str(
            getattr(c, "label", None) if hasattr(c, "label") else c[1]
        )
        for c in getattr(form_field, "choices", None) or ()
    }
    if isinstance(value, list | tuple):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    return labels.get(str(value), str(value))


def _events_since(obj, opened: int | None) -> list:
    """Audit events of ``obj`` that made a version after ``opened``, oldest first."""
    state = inspect(obj)
    rows = db.session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(
            AuditEvent.tenant_id == obj.tenant_id,
            AuditEvent.entity_type == state.mapper.local_table.name,
            AuditEvent.entity_id == state.identity[0],
            AuditEvent.action != "create",
        )
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    made = []
    for audit, name in rows:
        version = (audit.changes or {}).get("version")
        if isinstance(version, list) and (opened is None or version[1] > opened):
            made.append((audit, name))
    return made


def current_values(form, obj) -> dict:
    """The record's values under the form's field names (forms with fields that
    are not columns add them: ``form.current_values(obj)``)."""
    values = {
        name: getattr(obj, name)
        for name in form._fields
        if name not in NOT_COMPARED and name in inspect(obj).mapper.columns
    }
    extra = getattr(form, "current_values", None)
    if extra is not None:
        values.update(extra(obj))
    return values


def _set(form_field, value) -> None:
    form_field.process_data(value)
    form_field.raw_data = None  # rendered from data, not from what was posted
    form_field.errors = []


def merge(form, obj) -> Conflict:
    """After a refused save (the session rolled back): put the record's current
    values in ``form`` where someone else changed them, keep the user's own
    changes elsewhere, carry the current version, and say what differs."""
    opened = form.version.data
    try:
        db.session.refresh(obj)
    except ObjectDeletedError:
        return Conflict(gone=True)
    events = _events_since(obj, opened)
    before: dict[str, object] = {}  # field -> its value when the form was opened
    for audit, _name in events:
        for key, (old, _new) in (audit.changes or {}).items():
            before.setdefault(key, old)
    conflict = Conflict(
        changes=[
            Change(
                at=audit.created_at,
                who=name or "someone (not signed in)",
                fields=[
                    form[k].label.text if k in form else k.replace("_", " ")
                    for k in (audit.changes or {})
                    if k != "version"
                ],
            )
            for audit, name in reversed(events[-SHOWN_CHANGES:])
        ]
    )
    for name, now in current_values(form, obj).items():
        form_field = form[name]
        yours = form_field.data
        if _same(yours, now):
            continue
        # Without the opened version (a form posted without it) the base is unknown too.
        tracked = name not in COLLECTIONS and opened is not None
        if tracked and name not in before:
            changed_by_you, changed_by_them = True, False
        elif tracked:
            changed_by_you, changed_by_them = not _same(yours, before[name]), True
        else:  # what the user opened is unknown: treat it as both
            changed_by_you = changed_by_them = bool(events) or opened is None
        conflicting = changed_by_you and changed_by_them
        if changed_by_them:
            _set(form_field, now)
        conflict.rows.append(
            Row(
                label=form_field.label.text,
                yours=_shown(form_field, yours),
                current=_shown(form_field, now),
                conflicting=conflicting,
                kept_yours=not changed_by_them,
            )
        )
    _set(form.version, obj.version)
    return conflict


# -- collections are part of the record ------------------------------------------


def _touch_changed_collections(session, flush_context, instances) -> None:
    """A changed collection (ecosystems, flagships) changes its record: bump the
    version, so a form opened before sees the change as a conflict."""
    for obj in session.dirty:
        if not isinstance(obj, Versioned) or not hasattr(obj, "updated_at"):
            continue
        if session.is_modified(obj, include_collections=False):
            continue  # its UPDATE bumps the version anyway
        if session.is_modified(obj, include_collections=True):
            obj.updated_at = utcnow()


def touch(obj) -> None:
    """Bump ``obj``'s version at the next flush (a change kept in other rows,
    such as an organisation's cluster memberships)."""
    if hasattr(obj, "updated_at"):
        obj.updated_at = utcnow()


def install(session_factory) -> None:
    if not event.contains(session_factory, "before_flush", _touch_changed_collections):
        event.listen(session_factory, "before_flush", _touch_changed_collections)


CHANGED_MEANWHILE = (
    "Someone changed or deleted this record while you were acting on it, so nothing was "
    "done. Go back, reload the page and try again."
)


def _changed_meanwhile(_error):
    """A version check that failed outside an edit form (archive, delete, remove):
    409 and nothing done, never a 500."""
    db.session.rollback()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error="changed_meanwhile", message=CHANGED_MEANWHILE), 409
    page = render_template(
        "core/error.html", code=409, title="Changed meanwhile", message=CHANGED_MEANWHILE
    )
    return page, 409


def install_app(app) -> None:
    app.register_error_handler(StaleDataError, _changed_meanwhile)


# -- uniqueness races --------------------------------------------------------------


def guard_unique(session, change: Callable[[], None], recheck, refusal: RuleError) -> None:
    """Run ``change`` (add or change rows) and flush it in a savepoint. When a
    unique constraint refuses it (another save took the place after this one
    checked), roll back to the savepoint and answer with the rule's own message:
    ``recheck`` raises it now that the other row is visible; else ``refusal``."""
    try:
        with session.begin_nested():
            change()
    except IntegrityError:
        recheck()
        raise refusal from None


def name_taken(session, model, name: str, own_id: int | None = None) -> bool:
    """Whether another of the tenant's ``model`` rows (tags, segments) has ``name``,
    case aside: names unique per association are checked before the insert, so the
    form says so beside the field (``guard_unique`` catches the race)."""
    clash = select(model.id).where(
        func.lower(model.name) == name.lower(), model.id != (own_id or 0)
    )
    return session.scalar(clash) is not None
