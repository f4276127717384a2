"""Tenant scope: where it comes from, how every query is kept inside it.

The scope lives in a context variable so the same rules hold in a request,
a job and a CLI command:

* a tenant id: ORM statements on tenant-owned models get
  ``WHERE tenant_id = :id`` added, new rows take that tenant, and on
  PostgreSQL each transaction sets ``app.tenant_id`` for row-level security;
* ``None`` (no scope): tenant-owned rows are invisible (fail closed);
* ``ALL_TENANTS``: explicit, named cross-tenant access for operator
  commands; it lifts only the application wall, never RLS;
* ``ALLIANCE``: the alliance office's own scope (``alliance_scope``): no
  tenant rows, and on PostgreSQL ``app.scope = 'alliance'``, the one setting
  under which alliance users (``users.tenant_id`` NULL) are visible (RLS).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import abort, current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, false, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, with_loader_criteria

from crm.extensions import db
from crm.models import Tenant
from crm.models.base import TenantOwned

ALL_TENANTS = object()
ALLIANCE = object()
_scope: ContextVar[object] = ContextVar("crm_tenant_scope", default=None)


def current_tenant_id() -> int | None:
    scope = _scope.get()
    return scope if isinstance(scope, int) else None


def current_scope() -> object:
    """The scope itself (a tenant id, ``ALLIANCE``, ``ALL_TENANTS`` or None), to
    run later work (a streamed download) in the same one: ``tenant_scope(scope)``."""
    return _scope.get()


def current_tenant() -> Tenant | None:
    return g.get("tenant")


@contextmanager
def tenant_scope(tenant_id: int | None) -> Iterator[None]:
    """Run the block as tenant ``tenant_id`` (or with no tenant, when None)."""
    token = _scope.set(tenant_id)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def alliance_scope() -> Iterator[None]:
    """Run the block as the alliance office: alliance users become visible and
    writable (RLS on ``users``), tenant rows stay out of reach."""
    token = _scope.set(ALLIANCE)
    try:
        yield
    finally:
        _scope.reset(token)


def scope_of_user(tenant_id: int | None) -> object:
    """The scope in which a user's own row is visible: their tenant, or the alliance's."""
    return ALLIANCE if tenant_id is None else tenant_id


@contextmanager
def all_tenants() -> Iterator[None]:
    """Cross-tenant access for operator commands that say so by using this."""
    token = _scope.set(ALL_TENANTS)
    try:
        yield
    finally:
        _scope.reset(token)


def activate(session: Session, tenant_id: int | None | object) -> None:
    """Switch the scope mid-request (for example right after login); ``tenant_id``
    may also be ``ALLIANCE``. Outside a request the caller resets the scope."""
    if has_request_context() and "_tenant_scope_token" not in g:
        g._tenant_scope_token = _scope.set(None)  # given back at teardown
    _scope.set(tenant_id)
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction():  # otherwise after_begin applies it
        sync_database_tenant(session)


# What the connection's current transaction holds for (app.tenant_id, app.scope),
# kept on the pooled connection: a statement is sent only when the scope needs
# other values, so a request sets them once (when its tenant is known), and a
# request that reads no tenant rows (sign-in, /healthz) never does.
_APPLIED = "crm_tenant_setting"
# A new transaction starts with neither set: transaction-local values end with
# the transaction that set them (NULL or '' alike mean "none" to the policies).
_UNSET = ("", "")


def _settings(scope) -> tuple[str, str]:
    """The (``app.tenant_id``, ``app.scope``) values that stand for a scope."""
    if isinstance(scope, int):
        return str(scope), ""
    return "", "alliance" if scope is ALLIANCE else ""


def set_database_tenant(connection, tenant_id: int | None | object) -> None:
    """Make ``app.tenant_id`` and ``app.scope`` (RLS) of the connection's current
    transaction stand for ``tenant_id`` (a tenant id, None or ``ALLIANCE``); one
    statement, and none when they already do."""
    if connection.dialect.name != "postgresql":
        return
    wanted = _settings(tenant_id)
    if connection.info.get(_APPLIED) == wanted:
        return
    tid, scope = wanted
    # is_local=true: the settings end with the transaction, so a pooled
    # connection never carries one request's tenant into the next.
    connection.execute(
        text(
            "SELECT set_config('app.tenant_id', :tid, true), set_config('app.scope', :scope, true)"
        ),
        {"tid": tid, "scope": scope},
    )
    connection.info[_APPLIED] = wanted


def _transaction_begins(connection) -> None:
    _remember(connection, _UNSET)


def _transaction_ends(connection, *_args) -> None:
    # A rolled-back savepoint also rolls back set_config: the values are unknown
    # until set again. After a whole commit or rollback the next BEGIN knows them.
    _remember(connection, None)


def _remember(connection, values: tuple[str, str] | None) -> None:
    """Never raises: on a connection that died mid-request, ``info`` itself raises
    (PendingRollbackError), and this runs in the rollback of the request's
    teardown, which must not fail (the connection is discarded anyway)."""
    try:
        if values is None:
            connection.info.pop(_APPLIED, None)
        else:
            connection.info[_APPLIED] = values
    except Exception:  # noqa: BLE001 - a dead connection has nothing to forget
        pass


def sync_database_tenant(session: Session) -> None:
    """Make the transaction's ``app.tenant_id`` match the scope, if it changed
    since the transaction began (``tenant_scope`` blocks, ``activate``)."""
    set_database_tenant(session.connection(), _scope.get())


def _scope_statement(state: ORMExecuteState) -> None:
    sync_database_tenant(state.session)
    # Lazy and relationship loads come through here too, so they are scoped.
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = _scope.get()
    if scope is ALL_TENANTS:
        return
    if not isinstance(scope, int):  # None or ALLIANCE
        criteria = lambda cls: false()  # noqa: E731 - no tenant, no tenant rows
    else:
        tid = scope
        criteria = lambda cls: cls.tenant_id == tid  # noqa: E731
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, criteria, include_aliases=True)
    )


def _begin(session, transaction, connection) -> None:
    set_database_tenant(connection, _scope.get())


def _stamp_new_rows(session, flush_context, instances) -> None:
    """New tenant rows take the scope's tenant; naming another tenant is refused."""
    sync_database_tenant(session)
    scope = _scope.get()
    for obj in session.new:
        if not isinstance(obj, TenantOwned):
            continue
        if isinstance(scope, int):
            if obj.tenant_id is None:
                obj.tenant_id = scope
            elif obj.tenant_id != scope:
                raise PermissionError("a row of another tenant cannot be written here")
        elif scope is not ALL_TENANTS:
            raise PermissionError("tenant-owned rows need a tenant scope")
        elif obj.tenant_id is None:
            raise PermissionError("cross-tenant writes must name the tenant")


def install(session_factory) -> None:
    """Attach the scoping events to the app's session factory (once)."""
    for name, fn in (
        ("do_orm_execute", _scope_statement),
        ("after_begin", _begin),
        ("before_flush", _stamp_new_rows),
    ):
        if not event.contains(session_factory, name, fn):
            event.listen(session_factory, name, fn)
    for name, fn in (
        ("begin", _transaction_begins),
        ("commit", _transaction_ends),
        ("rollback", _transaction_ends),
        ("rollback_savepoint", _transaction_ends),
    ):
        if not event.contains(Engine, name, fn):
            event.listen(Engine, name, fn)


def reset_request_scope(_exc=None) -> None:
    """Teardown: give back the scope the request found (no leak into the next one)."""
    token = g.pop("_tenant_scope_token", None)
    if token is not None:
        _scope.reset(token)


def load_tenant_from_url(endpoint: str | None, values: dict | None) -> None:
    """URL value preprocessor: ``/<tenant>/...`` -> g.tenant, checked against the user.

    Anything other than the user's own tenant answers 404, so slugs of other
    associations cannot be probed.
    """
    if "_tenant_scope_token" not in g:
        g._tenant_scope_token = _scope.set(None)
    if not values or "tenant" not in values:
        return
    slug = values.pop("tenant")
    if not current_user.is_authenticated or current_user.tenant_id is None:
        # Anonymous users are sent to login by the view's login_required;
        # alliance users have no tenant pages.
        if current_user.is_authenticated:
            abort(404)
        g.tenant = None
        return
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None or tenant.id != current_user.tenant_id:
        abort(404)
    g.tenant = tenant
    activate(db.session, tenant.id)


def add_tenant_to_urls(endpoint: str, values: dict) -> None:
    """URL defaults: fill ``tenant`` from the current request so views never pass it."""
    if "tenant" in values or not g.get("tenant"):
        return
    if current_app.url_map.is_endpoint_expecting(endpoint, "tenant"):
        values["tenant"] = g.tenant.slug


def client_ip() -> str | None:
    return request.remote_addr if request else None
