"""Writes of the mail area: a refusal through an unsubscribe link, the
association's sender address, a test message. They flush, never commit."""

from __future__ import annotations

from crm import audit
from crm.accounts import definer
from crm.i18n import _
from crm.mail import consent, transport
from crm.models import Contact, Tenant
from crm.models.mail import EmailConsent


def refuse_by_link(session, tenant_id: int, contact: Contact, purpose: str) -> EmailConsent:
    """The contact followed an unsubscribe link: no more mail of ``purpose``.
    Assumes the token was genuine and the scope is the token's tenant; the
    change is audited by the audit hook like any other (no user: the contact)."""
    return consent.record(session, tenant_id, contact.id, purpose, False, "unsubscribe")


def set_sender(session, tenant: Tenant, address: str | None) -> None:
    """The association's sender address (None: the installation's MAIL_FROM);
    assumes an admin of ``tenant`` in its scope. Audited here: the row is
    written past the ORM (``definer.set_tenant_mail_from``)."""
    before, address = tenant.mail_from, (address or "").strip() or None
    if before == address:
        return
    definer.set_tenant_mail_from(session, tenant.id, address)
    audit.record(
        session, "update", tenant_id=tenant.id, entity_type="tenants", entity_id=tenant.id,
        changes={"mail_from": [before, address]},
    )  # fmt: skip
    session.flush()


def send_test_message(session, tenant: Tenant, to: str) -> None:
    """A message from the association's sender to ``to`` (the admin asking);
    raises ``MailError`` with the server's answer."""
    sender = transport.sender_for(tenant)
    body = _(
        "This is a test message from %(association)s in the Cluster Alliance CRM.\n\n"
        "It was sent from %(sender)s: if it arrived, members will receive the "
        "association's mail from that address too.\n",
        association=tenant.name,
        sender=sender,
    )
    subject = _("Test message from %(association)s", association=tenant.name)
    message = transport.compose(sender, to, subject, body)
    transport.send(session, tenant.id, message)
    audit.record(
        session, "mail_test_sent", tenant_id=tenant.id, entity_type="tenants",
        entity_id=tenant.id, summary=f"test message sent to {to}",
    )  # fmt: skip
    session.flush()
