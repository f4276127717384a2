"""Reads of the mail area: the association's outbox, newest first."""

from __future__ import annotations

from sqlalchemy import Select, select

from crm.dialects import matches
from crm.extensions import db
from crm.models import OutboxMessage


def outbox(search: str | None = None) -> Select:
    """The current association's outbox (the tenant filter is automatic), newest
    first as ``ix_outbox_messages_tenant_created`` reads it, to recipients
    containing ``search`` if given."""
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if search:
        query = query.where(matches(OutboxMessage.recipient, search))
    return query


def outbox_message(message_id: int) -> OutboxMessage | None:
    """One message of the current association's outbox, else None."""
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))
