"""Read queries for the user list and the audit log (filtered by tenant by hand:
neither users nor audit events are tenant-owned ORM rows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from crm.extensions import db
from crm.models import AuditEvent, User


def tenant_users(tenant_id: int) -> Select:
    return (
        select(User)
        .where(User.tenant_id == tenant_id)
        .order_by(User.active.desc(), User.name, User.id)
    )


def audit_events(
    tenant_id: int,
    *,
    action: str | None = None,
    entity_type: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> Select:
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if user_id:
        query = query.where(AuditEvent.user_id == user_id)
    if since:
        query = query.where(AuditEvent.created_at >= since)
    if before:
        query = query.where(AuditEvent.created_at < before)
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def audit_filter_choices(tenant_id: int):
    """Distinct actions and record types seen in this tenant's log, and its users."""
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.tenant_id == tenant_id)
        .distinct()
        .order_by(AuditEvent.action)
    ).all()
    entity_types = db.session.scalars(
        select(AuditEvent.entity_type)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.entity_type.is_not(None))
        .distinct()
        .order_by(AuditEvent.entity_type)
    ).all()
    people = db.session.scalars(
        select(User).where(User.tenant_id == tenant_id).order_by(User.email)
    ).all()
    return actions, entity_types, people
