"""Helpers shared by the accounts tests."""

from __future__ import annotations

from sqlalchemy import select

from crm.accounts import definer
from crm.models import AuditEvent, User
from crm.tenancy import scope_of_user, tenant_scope


def tenant_events(session, tenant_id: int, *criteria) -> list[AuditEvent]:
    """The tenant's audit events (read in its scope: on PostgreSQL RLS hides them otherwise)."""
    with tenant_scope(tenant_id):
        query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id, *criteria)
        return session.scalars(query.order_by(AuditEvent.id)).all()


def user_by_email(session, email: str) -> User | None:
    """The user with this address, read as the app reads one: found past the wall
    (every association), then read in the user's own scope (RLS on PostgreSQL)."""
    wall = definer.user_by_email(session, email)
    if wall is None:
        return None
    with tenant_scope(scope_of_user(wall.tenant_id)):
        return session.get(User, wall.id)


def refresh_user(session, user: User) -> None:
    """Read ``user`` again in their own scope (RLS on PostgreSQL)."""
    with tenant_scope(scope_of_user(user.__dict__.get("tenant_id"))):
        session.refresh(user)
