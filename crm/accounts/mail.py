"""Account mail: the invitation of a new user, and the link of "Forgot password?".

Where it goes. A user of an association gets it through the transport: SMTP,
or without ``SMTP_URL`` the association's outbox, which its administrators read
(they may issue password links for their users anyway, so the outbox shows them
nothing they could not get). An alliance user belongs to no association, so
there is no outbox for them: their mail goes by SMTP only. Without SMTP it is
not sent; a warning is logged (without the link, a secret), and the page of the
admin who triggered it shows the link to hand over, as it always did.
"""

from __future__ import annotations

import enum

from flask import current_app, render_template

from crm import tenancy
from crm.i18n import _, _l, force_locale, tenant_language
from crm.mail import transport
from crm.models import Tenant, User


class Delivery(enum.Enum):
    SENT = "sent"  # handed to the SMTP server
    OUTBOX = "outbox"  # stored in the association's outbox (no SMTP_URL)
    NOT_SENT = "not sent"  # an alliance user and no SMTP_URL: nowhere to put it


def send_invitation(session, user: User, link: str) -> Delivery:
    """Invite ``user`` to set a password at ``link``; raises ``MailError``."""
    return _deliver(session, user, "invitation", link)


def send_reset_link(session, user: User, link: str) -> Delivery:
    """Send ``user`` the link asked for with "Forgot password?"; raises ``MailError``."""
    return _deliver(session, user, "reset", link)


SUBJECTS = {
    "invitation": _l("Your account at %(place)s"),
    "reset": _l("Set a new password for %(place)s"),
}


def _deliver(session, user: User, kind: str, link: str) -> Delivery:
    tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
    # In the recipient's language, whoever triggered it (an admin, or nobody signed in).
    with force_locale(user.language or tenant_language(tenant)):
        place = tenant.name if tenant else _("the Cluster Alliance CRM")
        body = render_template(f"accounts/mail/{kind}.txt", user=user, tenant=tenant, link=link)
        subject = str(SUBJECTS[kind]) % {"place": place}
    message = transport.compose(transport.sender_for(tenant), user.email, subject, body)
    if tenant is None and not current_app.config.get("SMTP_URL"):
        current_app.logger.warning(
            "no SMTP_URL: the %s mail for alliance user %s was not sent", kind, user.id
        )
        return Delivery.NOT_SENT
    # The outbox row belongs to the user's association (RLS), whatever scope the
    # request is in (an alliance admin inviting a new association's first admin).
    with tenancy.tenant_scope(tenancy.scope_of_user(user.tenant_id)):
        transport.send(session, user.tenant_id, message)
    return Delivery.SENT if current_app.config.get("SMTP_URL") else Delivery.OUTBOX
