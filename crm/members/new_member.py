"""Registering a new member on one page: the organisation with its postal address,
its first membership and its primary contact, written in one transaction.

``register_member`` composes the members area's own services (so the same rules
hold as on their separate forms); it flushes and never commits, and assumes
the caller checked the user is the association's staff.
"""

from __future__ import annotations

from datetime import date

from crm.i18n import _, _l
from crm.members import services
from crm.members.services import MemberError
from crm.models import Organisation

# The statuses a new member starts with.
FIRST_STATUSES = ("applicant", "active")
REGISTERED = "Registered with the new-member form."


def register_member(
    session,
    tenant_id: int,
    organisation: dict,
    membership: dict,
    contact: dict | None,
    *,
    ecosystem_ids=(),
    cluster_ids=(),
    user_id: int | None = None,
) -> Organisation:
    """The organisation, then (``membership["status"]`` set) its membership from
    ``joined_on`` with its fee tier and paid-until date, then (``contact`` given)
    its primary contact. A refusal of any part raises ``MemberError`` with the
    field, and the view's rollback leaves nothing behind."""
    status = membership.get("status") or None
    start = membership.get("joined_on") or date.today()
    paid_until = membership.get("paid_until")
    if status is None and (membership.get("fee_tier") or paid_until):
        raise MemberError(_("Choose the membership status to record its terms."), "status")
    if status is not None and status not in FIRST_STATUSES:
        raise MemberError(_("A new member starts as an applicant or active."), "status")
    if paid_until is not None and paid_until < start:
        raise MemberError(_("The membership cannot be paid until before it starts."), "paid_until")
    if contact is not None:
        for key, message in (
            ("first_name", _l("Enter the contact's first name.")),
            ("last_name", _l("Enter the contact's last name.")),
        ):
            if not (contact.get(key) or "").strip():
                raise MemberError(str(message), key)
    org = services.create_organisation(session, tenant_id, organisation, ecosystem_ids, cluster_ids)
    if status is not None:
        record = services.change_membership_status(
            session,
            tenant_id,
            org,
            status,
            effective_on=start,
            reason=REGISTERED,
            user_id=user_id,
        )
        services.set_membership_terms(session, record, membership.get("fee_tier"), paid_until)
    if contact is not None:
        services.create_contact(session, tenant_id, org, {**contact, "is_primary": True})
    return org
