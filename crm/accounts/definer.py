"""The narrow ways past the second wall: the ``SECURITY DEFINER`` functions of
migration 0008 on PostgreSQL, the same answers from plain ORM queries on SQLite
(which has no row-level security, so the application wall stands alone there).

Nothing here hands out an e-mail address or a password hash: a user lookup
gives the id and the tenant, and the caller then reads the row in that user's
own scope (``crm.tenancy.scope_of_user``), under row-level security.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import case, func, insert, select, text, update

from crm.models import Tenant, User
from crm.models.base import utcnow


class UserWall(NamedTuple):
    """Where a user's row lives: enough to enter their scope, nothing else."""

    id: int
    tenant_id: int | None
    # SQLite: the row itself, read instead of the function's answer; holding it
    # keeps it in the session's (weak) identity map, so reading it again is free.
    row: User | None = None


def _postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def user_by_email(session, email: str) -> UserWall | None:
    email = email.strip()
    if _postgres(session):
        query = text("SELECT id, tenant_id FROM auth_user_by_email(:email)")
        row = session.execute(query, {"email": email}).first()
    else:
        query = select(User.id, User.tenant_id).where(func.lower(User.email) == email.lower())
        row = session.execute(query).first()
    return UserWall(*row) if row else None


def user_by_id(session, user_id: int) -> UserWall | None:
    if _postgres(session):
        query = text("SELECT id, tenant_id FROM auth_user_by_id(:id)")
        row = session.execute(query, {"id": user_id}).first()
        return UserWall(*row) if row else None
    # Without a wall to cross, the session loader stays at one query.
    user = session.get(User, user_id)
    return UserWall(user.id, user.tenant_id, user) if user else None


def tenant_user_counts(session) -> dict[int, tuple[int, int]]:
    """{tenant id: (users, active tenant admins)} for every association with users."""
    if _postgres(session):
        query = text("SELECT tenant_id, users, admins FROM tenant_user_counts()")
    else:
        admin = case((User.active & (User.role == "tenant_admin"), 1), else_=0)
        query = (
            select(User.tenant_id, func.count(User.id), func.sum(admin))
            .where(User.tenant_id.is_not(None))
            .group_by(User.tenant_id)
        )
    return {tid: (users, admins) for tid, users, admins in session.execute(query)}


def insert_tenant(session, *, slug: str, name: str, country: str) -> Tenant:
    """Add an association; on PostgreSQL only in the alliance scope (the function checks).

    Not an ORM insert on either database, so the caller writes the audit event.
    """
    values = {"slug": slug, "name": name, "country": country}
    if _postgres(session):
        tenant_id = session.scalar(text("SELECT create_tenant(:slug, :name, :country)"), values)
    else:
        query = insert(Tenant).values(**values, created_at=utcnow()).returning(Tenant.id)
        tenant_id = session.scalar(query)
    return session.get(Tenant, tenant_id)


def set_tenant_mail_from(session, tenant_id: int, address: str | None) -> None:
    """Set the association's sender address (None: the installation's). On
    PostgreSQL only in that association's own scope: the function updates the
    association ``app.tenant_id`` names. Not an ORM update on either database,
    so the caller writes the audit event."""
    if _postgres(session):
        query = text("SELECT set_tenant_mail_from(:address)")
        if session.scalar(query, {"address": address or ""}) != tenant_id:
            raise RuntimeError("the sender address was set outside its association's scope")
    else:
        query = update(Tenant).where(Tenant.id == tenant_id).values(mail_from=address or None)
        session.execute(query)
    tenant = session.get(Tenant, tenant_id)
    if tenant is not None:
        session.refresh(tenant, ["mail_from"])
