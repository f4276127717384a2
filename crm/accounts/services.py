"""Account verbs. They flush, never commit; the view commits once."""

from sqlalchemy import func, select

from crm import audit, tenancy
from crm.accounts.passwords import hash_password, verify_password
from crm.models import User
from crm.models.base import utcnow


def find_user_by_email(session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(session, email: str, password: str) -> User | None:
    """The active user with these credentials, else None; either way the attempt is audited."""
    user = find_user_by_email(session, email)
    # The events below belong to the user's tenant (RLS checks that on PostgreSQL).
    tenancy.activate(session, user.tenant_id if user else None)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or not user.active:
        audit.record(
            session,
            "login_failed",
            tenant_id=user.tenant_id if user else None,
            entity_type="users",
            entity_id=user.id if user else None,
            summary=f"failed login for {email.strip().lower()[:200]}",
            user_id=user.id if user else None,
        )
        return None
    user.last_login_at = utcnow()
    audit.record(
        session,
        "login",
        tenant_id=user.tenant_id,
        entity_type="users",
        entity_id=user.id,
        user_id=user.id,
    )
    return user


def create_user(session, *, email, password, name, role, tenant_id=None, cluster_id=None) -> User:
    user = User(
        email=email.strip(),
        password_hash=hash_password(password),
        name=name,
        role=role,
        tenant_id=tenant_id,
        cluster_id=cluster_id,
        active=True,
    )
    session.add(user)
    session.flush()
    return user
