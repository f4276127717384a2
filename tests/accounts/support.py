"""Helpers shared by the accounts tests."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import AuditEvent
from crm.tenancy import tenant_scope


def tenant_events(session, tenant_id: int, *criteria) -> list[AuditEvent]:
    """The tenant's audit events (read in its scope: on PostgreSQL RLS hides them otherwise)."""
    with tenant_scope(tenant_id):
        query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id, *criteria)
        return session.scalars(query.order_by(AuditEvent.id)).all()
