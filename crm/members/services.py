"""Writes of the members area: organisations, membership lifecycle, contacts, GDPR.

Services are verbs. They flush and never commit (the view commits once).
The tenant is implicit in the scoped session: a service takes ``tenant_id``
only when it must write it on new rows or name it where scoping does not
reach (the audit trail), never to pass it along unused. They assume the
caller has checked that the user may manage the tenant's members
(``crm.accounts.access.STAFF``) and that any object passed in was loaded in
that tenant's scope.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import delete, select, update

from crm.conflicts import check_version, guard_unique, touch
from crm.currencies import CURRENCIES, DEFAULT_CURRENCY
from crm.i18n import _
from crm.identifiers import STORED_FORMS
from crm.mail import consent as mail_consent
from crm.models import (
    Activity,
    AssociationMembership,
    AuditEvent,
    ClusterMembership,
    Contact,
    Ecosystem,
    MembershipStatusChange,
    Organisation,
)
from crm.models.contact import CONSENT_SOURCES, CONTACT_FIELDS, CONTACT_ROLES
from crm.models.membership import DEFAULT_PERIOD_MONTHS, FEE_TIERS, MEMBERSHIP_STATUSES
from crm.models.organisation import (
    DEFAULT_NACE_REVISION,
    DEFAULT_NUTS_REVISION,
    PROFILE_FIELDS,
)
from crm.profiles import services as profiles
from crm.projects.partners import name_key
from crm.validation import (
    RuleError,
    check_not_own_member,
    normalise_code,
    normalise_url,
    organisation_errors,
    parse_number,
)

ORGANISATION_FIELDS = (*PROFILE_FIELDS, "discoverable")
REVISION_DEFAULTS = {"nuts_revision": DEFAULT_NUTS_REVISION, "nace_revision": DEFAULT_NACE_REVISION}
NUMBER_FIELDS = ("employees", "turnover_eur", "balance_sheet_eur", "founded_year")
ERASED_NAME = "Erased"


class MemberError(RuleError):
    """A rule of the members area refused the change."""


def _clean(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _apply_organisation(org: Organisation, data: dict) -> None:
    errors = organisation_errors({k: data[k] for k in data if k in ORGANISATION_FIELDS})
    if errors:
        field, message = next(iter(errors.items()))
        raise MemberError(message, field)
    for key in ORGANISATION_FIELDS:
        if key in data:
            value = _clean(data[key])
            if key in ("country", "nuts2", "nace") and value:
                value = normalise_code(value)
            if key in STORED_FORMS:
                value = STORED_FORMS[key](value, data.get("country"))
            if key == "website":
                value = normalise_url(value)
            if key in ("is_startup", "discoverable"):
                value = bool(value)
            if key in REVISION_DEFAULTS and value is None:
                value = REVISION_DEFAULTS[key]
            if key in NUMBER_FIELDS and value is not None:
                value = int(round(parse_number(value)))
            setattr(org, key, value)
    org.refresh_size_class()


def _check_pic_free(session, org: Organisation) -> None:
    """A PIC names one organisation of the association (a unique index says so too)."""
    if not org.pic:
        return
    with session.no_autoflush:
        other = session.scalar(
            select(Organisation.name).where(Organisation.pic == org.pic, Organisation.id != org.id)
            if org.id is not None
            else select(Organisation.name).where(Organisation.pic == org.pic)
        )
    if other is not None:
        raise MemberError(_("This PIC is already recorded for %(name)s.", name=other), "pic")


def _set_ecosystems(session, org: Organisation, ecosystem_ids) -> None:
    wanted = sorted({int(i) for i in ecosystem_ids})
    if [e.id for e in org.ecosystems] == wanted:
        return
    chosen = session.scalars(select(Ecosystem).where(Ecosystem.id.in_(wanted))).all()
    org.ecosystems = sorted(chosen, key=lambda e: e.id)


def _set_clusters(session, tenant_id: int, org: Organisation, cluster_ids, *, new=False) -> None:
    wanted = {int(i) for i in cluster_ids}
    for cluster_id in wanted:
        message = check_not_own_member(cluster_id, org.id)
        if message:
            raise MemberError(message, "cluster_ids")
    if wanted and org.is_external:
        raise MemberError(_("An external partner is not a member of a cluster."), "cluster_ids")
    if wanted:
        found = set(
            session.scalars(
                select(Organisation.id).where(
                    Organisation.id.in_(wanted),
                    Organisation.kind == "cluster",
                    Organisation.is_external.is_(False),
                )
            )
        )
        if found != wanted:
            raise MemberError(_("Choose clusters of this association."), "cluster_ids")
    current = set(
        session.scalars(
            select(ClusterMembership.cluster_id).where(ClusterMembership.member_id == org.id)
        )
    )
    if wanted != current and not new:
        touch(org)  # its clusters are part of the organisation's form

    def add() -> None:
        session.add_all(
            ClusterMembership(
                tenant_id=tenant_id, cluster_id=cluster_id, member_id=org.id, since=date.today()
            )
            for cluster_id in wanted - current
        )

    if wanted - current:
        # Two users adding the same cluster at once: the loser is told, not a 500.
        refusal = MemberError(
            _(
                "Someone added this organisation to one of these clusters meanwhile: "
                "check its clusters and save again."
            ),
            "cluster_ids",
        )
        guard_unique(session, add, lambda: None, refusal)
    if current - wanted:
        for row in session.scalars(
            select(ClusterMembership).where(
                ClusterMembership.member_id == org.id,
                ClusterMembership.cluster_id.in_(current - wanted),
            )
        ):
            session.delete(row)


def create_organisation(
    session, tenant_id: int, data: dict, ecosystem_ids=(), cluster_ids=()
) -> Organisation:
    """A new member organisation; ``data`` holds Organisation column values."""
    org = Organisation(tenant_id=tenant_id)
    _apply_organisation(org, {k: data.get(k) for k in ORGANISATION_FIELDS})
    org.archived = False
    _check_pic_free(session, org)
    _set_ecosystems(session, org, ecosystem_ids)  # before its INSERT: it starts at version 1
    session.add(org)
    session.flush()
    _set_clusters(session, tenant_id, org, cluster_ids, new=True)
    session.flush()
    return org


def update_organisation(
    session,
    tenant_id: int,
    org: Organisation,
    data: dict,
    ecosystem_ids=None,
    cluster_ids=None,
    *,
    version: int | None = None,
) -> Organisation:
    """Change the organisation (``version``: the one the form was opened at)."""
    check_version(org, version)
    was_cluster = org.kind == "cluster"
    _apply_organisation(org, data)
    _check_pic_free(session, org)
    if org.is_external:
        org.name_key = name_key(org.name)  # found again under its new name
    if was_cluster and org.kind != "cluster":
        delete_cluster_links(session, org)
    if ecosystem_ids is not None:
        _set_ecosystems(session, org, ecosystem_ids)
    if cluster_ids is not None:
        _set_clusters(session, tenant_id, org, cluster_ids)
    session.flush()
    profiles.follow_organisation(session, org)  # the published copy follows the edit
    return org


def archive_organisation(session, org: Organisation) -> None:
    """Archived organisations leave the directory and the figures; nothing is deleted."""
    org.archived = True
    session.flush()
    profiles.follow_organisation(session, org)  # an archived organisation is withdrawn


def restore_organisation(session, org: Organisation) -> None:
    org.archived = False
    session.flush()


# -- membership lifecycle ---------------------------------------------------

# Which dates a status sets when it takes effect.
_JOINING = {"active"}
_LEAVING = {"left", "lapsed"}


def change_membership_status(
    session,
    tenant_id: int,
    org: Organisation,
    status: str,
    *,
    effective_on: date,
    reason: str | None,
    user_id: int | None,
    version: int | None = None,
) -> AssociationMembership:
    """Move the organisation's association membership to ``status`` and record
    the change (creating the membership when it has none). ``version``: the
    membership's, when the form was opened (None: it had none)."""
    if status not in MEMBERSHIP_STATUSES:
        raise MemberError(_("Choose a membership status."), "status")
    if org.archived:
        raise MemberError(_("Restore the organisation before changing its membership."))
    if org.is_external:
        # Counting it as a member would change every member figure; it must be
        # recorded as a member organisation instead.
        raise MemberError(_("An external partner has no membership of the association."))
    membership = session.scalar(
        select(AssociationMembership).where(AssociationMembership.organisation_id == org.id)
    )
    check_version(membership, version)
    previous = membership.status if membership else None
    if previous == status:
        raise MemberError(
            _("The membership is already %(status)s.", status=MEMBERSHIP_STATUSES[status]), "status"
        )
    if membership is None:
        membership = AssociationMembership(
            tenant_id=tenant_id, organisation_id=org.id, status=status
        )
        refusal = MemberError(
            _("Someone recorded a membership status meanwhile: check it and try again."), "status"
        )
        # One membership per organisation: the second of two first statuses is told.
        guard_unique(session, lambda: session.add(membership), lambda: None, refusal)
    membership.status = status
    if status in _JOINING:
        if membership.joined_on is None or previous in _LEAVING:
            membership.joined_on = effective_on
        membership.left_on = None
    elif status in _LEAVING:
        membership.left_on = effective_on
    session.flush()
    session.add(
        MembershipStatusChange(
            tenant_id=tenant_id,
            membership_id=membership.id,
            from_status=previous,
            to_status=status,
            effective_on=effective_on,
            reason=_clean(reason),
            changed_by_id=user_id,
        )
    )
    session.flush()
    return membership


def set_membership_terms(
    session,
    membership: AssociationMembership,
    fee_tier,
    paid_until,
    *,
    fee_amount=None,
    fee_currency: str = DEFAULT_CURRENCY,
    period_months: int = DEFAULT_PERIOD_MONTHS,
    version=None,
) -> None:
    """Fee tier, fee per period (``fee_amount``: a number or text such as
    "1 200"), period and paid-until date. A payment is recorded with
    ``crm.renewals.services.record_payment`` instead; this corrects the terms."""
    check_version(membership, version)
    if fee_tier and fee_tier not in FEE_TIERS:
        raise MemberError(_("Choose a fee tier."), "fee_tier")
    if fee_currency not in CURRENCIES:
        raise MemberError(_("Choose a currency."), "fee_currency")
    if not 1 <= int(period_months) <= 120:
        raise MemberError(_("Enter between 1 and 120 months."), "period_months")
    membership.fee_tier = fee_tier or None
    membership.paid_until = paid_until
    fee = _clean(fee_amount)
    membership.fee_amount = (
        None if fee is None else Decimal(str(parse_number(fee))).quantize(Decimal("0.01"))
    )
    membership.fee_currency = fee_currency
    membership.period_months = int(period_months)
    session.flush()


# -- contacts and GDPR ---------------------------------------------------------


def _apply_contact(session, contact: Contact, data: dict) -> None:
    if data.get("is_primary"):
        # One primary per organisation (a unique partial index enforces it):
        # demote the current one first, before this row's change is flushed.
        session.execute(
            update(Contact)
            .where(
                Contact.organisation_id == contact.organisation_id,
                Contact.is_primary.is_(True),
                Contact.id != (contact.id or 0),
            )
            # A new version: a form of the demoted contact opened before is stale.
            .values(is_primary=False, version=Contact.version + 1)
            .execution_options(synchronize_session="fetch")
        )
    for key in CONTACT_FIELDS:
        if key in data:
            setattr(contact, key, _clean(data[key]))
    if "role" in data:  # the form's; imports do not carry it
        contact.role = _clean(data["role"])
        if contact.role and contact.role not in CONTACT_ROLES:
            raise MemberError(_("Choose the contact's role from the list."), "role")
    contact.is_primary = bool(contact.is_primary)
    contact.consent_given = bool(contact.consent_given)
    if contact.consent_source and contact.consent_source not in CONSENT_SOURCES:
        raise MemberError(_("Choose where the consent was given."), "consent_source")
    if contact.consent_given and not (contact.consent_date and contact.consent_source):
        raise MemberError(
            _("Record when and how consent was given."),
            "consent_date" if not contact.consent_date else "consent_source",
        )


def create_contact(session, tenant_id: int, org: Organisation, data: dict) -> Contact:
    contact = Contact(tenant_id=tenant_id, organisation_id=org.id)
    _apply_contact(session, contact, data)
    session.add(contact)
    session.flush()
    return contact


def update_contact(session, contact: Contact, data: dict, *, version=None) -> Contact:
    check_version(contact, version)
    if contact.erased_at is not None:
        raise MemberError(_("This contact was erased; add a new contact instead."))
    _apply_contact(session, contact, data)
    session.flush()
    return contact


def set_mail_consents(session, tenant_id: int, contact: Contact, said: dict) -> None:
    """Record what staff entered about each purpose of e-mail ({purpose: True,
    False or None}); unchanged answers keep their date and source."""
    for purpose, granted in said.items():
        mail_consent.set_said(session, tenant_id, contact.id, purpose, granted, "form")


def delete_contact(session, contact: Contact) -> None:
    """Delete the person; notes and meetings with them stay on the organisation's
    timeline, no longer naming them (the foreign key has no ON DELETE: a
    composite SET NULL would clear the tenant too)."""
    session.execute(
        update(Activity)
        .where(Activity.contact_id == contact.id)
        .values(contact_id=None)
        .execution_options(synchronize_session=False)
    )
    session.delete(contact)
    session.flush()


def contact_data(session, tenant_id: int, contact: Contact) -> dict:
    """Everything held about a person (GDPR access request), as JSON-ready data."""
    org = session.scalar(select(Organisation).where(Organisation.id == contact.organisation_id))
    events = session.execute(
        select(AuditEvent.created_at, AuditEvent.action, AuditEvent.changes)
        .where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.entity_type == "contacts",
            AuditEvent.entity_id == contact.id,
        )
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()

    def iso(value):
        return value.isoformat() if value else None

    return {
        "contact": {
            "id": contact.id,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
            "phone": contact.phone,
            "job_title": contact.job_title,
            "is_primary": contact.is_primary,
            "created_at": iso(contact.created_at),
            "updated_at": iso(contact.updated_at),
            "erased_at": iso(contact.erased_at),
        },
        "consent": {
            "given": contact.consent_given,
            "date": iso(contact.consent_date),
            "source": contact.consent_source,
        },
        "email_consents": [
            {"purpose": p, "granted": c.granted, "at": iso(c.changed_at), "source": c.source}
            for p, c in sorted(mail_consent.of_contacts(session, [contact.id])[contact.id].items())
        ],
        "organisation": {
            "id": org.id,
            "name": org.name,
            "country": org.country,
            "city": org.city,
        }
        if org
        else None,
        "history": [
            {"at": iso(at), "action": action, "changes": changes} for at, action, changes in events
        ],
        "controller": "The association's secretariat (this CRM).",
        "exported_at": datetime.now(UTC).isoformat(),
    }


def erase_contact(session, tenant_id: int, contact: Contact) -> None:
    """Anonymise the person (GDPR erasure) but keep the row, so counts stay right.

    The audit trail of the contact is scrubbed too: its events keep their
    action and date, not the personal values.
    """
    if contact.erased_at is not None:
        return
    contact.first_name = ERASED_NAME
    contact.last_name = f"contact #{contact.id}"
    contact.email = contact.phone = contact.job_title = None
    contact.is_primary = False
    contact.consent_given = False
    contact.consent_date = contact.consent_source = None
    contact.erased_at = datetime.now(UTC)
    session.flush()  # the audit hook writes this change's event (with the old values) ...
    session.execute(  # ... which is scrubbed with the earlier ones
        update(AuditEvent)
        .where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.entity_type == "contacts",
            AuditEvent.entity_id == contact.id,
        )
        .values(changes={"personal data": "erased"})
        .execution_options(synchronize_session=False)
    )


def delete_cluster_links(session, org: Organisation) -> None:
    """Used when an organisation stops being a cluster: its member links go."""
    session.execute(
        delete(ClusterMembership)
        .where(ClusterMembership.cluster_id == org.id)
        .execution_options(synchronize_session=False)
    )
