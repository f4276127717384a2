"""The verbs of partner requests. Services flush and never commit.

The tenant always comes from the scope (``crm.tenancy.current_tenant_id``):
an association posts, closes and answers its own requests, and expresses
interest for its own published organisations only. On PostgreSQL the
policies of migration 0013 say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update

from crm import audit
from crm.i18n import _
from crm.models import (
    Contact,
    Organisation,
    PartnerInterest,
    PartnerProfile,
    PartnerRequest,
    SharedContact,
    User,
)
from crm.models.base import utcnow
from crm.models.partner_request import bars
from crm.tenancy import current_tenant_id
from crm.validation import RuleError


def no_longer_open(state: str) -> str:
    """Why a closed or expired request takes no more interest, in a whole sentence."""
    if state == "closed":
        return _("This request is closed: it no longer takes expressions of interest.")
    return _("This request is expired: it no longer takes expressions of interest.")


def _tenant() -> int:
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise PermissionError("partner requests need a tenant scope")
    return tenant_id


@dataclass
class RequestFields:
    title: str
    programme_code: str
    deadline: date
    description: str
    call_identifier: str | None = None
    topic: str | None = None
    roles_sought: str | None = None
    kinds: tuple[str, ...] = ()
    size_classes: tuple[str, ...] = ()
    ecosystems: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()


def post_request(
    session, org: Organisation, fields: RequestFields, user_id: int | None, today: date
) -> PartnerRequest:
    """Post a call for partners for ``org`` (loaded in the scope, and one the
    user may act for); visible alliance-wide until its deadline."""
    tenant_id = _tenant()
    if org.tenant_id != tenant_id or org.is_external or org.archived:
        raise RuleError(_("Choose one of the association's organisations."), "organisation_id")
    if fields.deadline < today:
        raise RuleError(_("The deadline has passed: choose today or a later date."), "deadline")
    request = PartnerRequest(
        tenant_id=tenant_id,
        organisation_id=org.id,
        organisation_name=org.name,
        organisation_country=org.country,
        title=fields.title,
        programme_code=fields.programme_code,
        call_identifier=fields.call_identifier or None,
        topic=fields.topic or None,
        deadline=fields.deadline,
        roles_sought=fields.roles_sought or None,
        kinds=bars(fields.kinds),
        size_classes=bars(fields.size_classes),
        ecosystem_codes=bars(fields.ecosystems),
        countries=bars(fields.countries),
        description=fields.description,
        created_by=user_id,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        "create",
        tenant_id=tenant_id,
        entity_type="partner_requests",
        entity_id=request.id,
        summary=f"Partner request posted: {request.title}",
    )
    session.flush()
    return request


def close_request(session, request: PartnerRequest) -> bool:
    """Close the association's own request; whether it was open until now."""
    tenant_id = _tenant()
    if request.tenant_id != tenant_id:
        raise PermissionError("an association closes its own requests only")
    if request.closed_at is not None:
        return False
    request.closed_at = utcnow()
    audit.record(
        session,
        "close",
        tenant_id=tenant_id,
        entity_type="partner_requests",
        entity_id=request.id,
        summary=f"Partner request closed: {request.title}",
    )
    session.flush()
    return True


def _published(session, tenant_id: int, organisation_id: int) -> bool:
    return (
        session.scalar(
            select(PartnerProfile.id).where(
                PartnerProfile.tenant_id == tenant_id,
                PartnerProfile.organisation_id == organisation_id,
            )
        )
        is not None
    )


def share(session, interest: PartnerInterest, tenant_id: int, person, org_name: str) -> None:
    """Copy the chosen person (a contact of the association, or the user) for the other side."""
    if isinstance(person, Contact):
        name, title, email, phone = person.full_name, person.job_title, person.email, person.phone
    else:
        name, title, email, phone = person.name, None, person.email, None
    session.add(
        SharedContact(
            interest_id=interest.id,
            tenant_id=tenant_id,
            name=name,
            job_title=title,
            organisation_name=org_name,
            email=email,
            phone=phone,
        )
    )


def express_interest(
    session,
    request: PartnerRequest,
    org: Organisation,
    message: str | None,
    person: Contact | User,
    user_id: int | None,
    today: date,
) -> PartnerInterest:
    """Express interest in another association's open request, on behalf of one
    of the association's own published organisations (loaded in the scope);
    ``person`` is the contact to share if the requester accepts."""
    tenant_id = _tenant()
    if request.tenant_id == tenant_id:
        raise RuleError(_("This is your own association's request."))
    if request.state(today) != "open":
        raise RuleError(no_longer_open(request.state(today)))
    if org.tenant_id != tenant_id or not _published(session, tenant_id, org.id):
        raise PermissionError("only the association's own published organisations")
    taken = session.scalar(
        select(PartnerInterest.id).where(
            PartnerInterest.request_id == request.id,
            PartnerInterest.tenant_id == tenant_id,
            PartnerInterest.organisation_id == org.id,
        )
    )
    if taken is not None:
        raise RuleError(
            _("%(name)s has already expressed interest.", name=org.name), "organisation_id"
        )
    interest = PartnerInterest.answering(
        request, tenant_id, org.id, org, message=message or None, created_by=user_id
    )
    session.add(interest)
    session.flush()
    share(session, interest, tenant_id, person, org.name)
    audit.record(
        session,
        "create",
        tenant_id=tenant_id,
        entity_type="partner_interests",
        entity_id=interest.id,
        summary=f"Interest expressed for {org.name} in the request '{request.title}'",
    )
    session.flush()
    return interest


def decision(interest_id: int, status: str):
    """The one statement that answers an interest: it changes a pending one only,
    so of two concurrent answers the second finds nothing to change."""
    return (
        update(PartnerInterest)
        .where(PartnerInterest.id == interest_id, PartnerInterest.status == "pending")
        .values(status=status, decided_at=utcnow())
    )


def decide(session, interest: PartnerInterest, accept: bool, person: Contact | User | None) -> bool:
    """Accept (sharing ``person``) or decline a pending interest in one of the
    association's own requests. Two users deciding at once: the conditional
    update lets exactly one through; the other gets False and changes nothing."""
    tenant_id = _tenant()
    if interest.request_tenant_id != tenant_id:
        raise PermissionError("an association answers interests in its own requests only")
    if accept and person is None:
        raise RuleError(_("Choose the contact person to share."), "contact")
    status = "accepted" if accept else "declined"
    won = session.execute(
        decision(interest.id, status).execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        return False
    session.refresh(interest)
    if accept:
        request = session.get(PartnerRequest, interest.request_id)
        share(session, interest, tenant_id, person, request.organisation_name)
    audit.record(
        session,
        "accept" if accept else "decline",
        tenant_id=tenant_id,
        entity_type="partner_interests",
        entity_id=interest.id,
        summary=f"Interest of {interest.organisation_name} {status}",
    )
    session.flush()
    return True


def withdraw_interest(session, interest: PartnerInterest) -> bool:
    """The interested association takes back its pending interest."""
    tenant_id = _tenant()
    if interest.tenant_id != tenant_id:
        raise PermissionError("an association withdraws its own interests only")
    return withdraw_pending(session, tenant_id, interest_id=interest.id) > 0


def withdraw_pending(
    session, tenant_id: int, organisation_id: int | None = None, interest_id: int | None = None
) -> int:
    """Mark pending interests withdrawn (one, or every one of an organisation whose
    consent to publish is taken back); the requester then sees "withdrawn"."""
    query = update(PartnerInterest).where(
        PartnerInterest.tenant_id == tenant_id, PartnerInterest.status == "pending"
    )
    if organisation_id is not None:
        query = query.where(PartnerInterest.organisation_id == organisation_id)
    if interest_id is not None:
        query = query.where(PartnerInterest.id == interest_id)
    count = session.execute(
        query.values(status="withdrawn", withdrawn_at=utcnow()).execution_options(
            synchronize_session="fetch"
        )
    ).rowcount
    if count:
        audit.record(
            session,
            "withdraw",
            tenant_id=tenant_id,
            entity_type="partner_interests",
            entity_id=interest_id,
            summary=f"{count} pending interest(s) withdrawn",
        )
    session.flush()
    return count


def mark_notifications_seen(session, user: User) -> None:
    user.notifications_seen_at = utcnow()
    session.flush()
