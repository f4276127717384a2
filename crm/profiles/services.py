"""Publishing and withdrawing partner profiles: explicit, audited acts of the
association that owns the organisation. Services flush and never commit.

The tenant always comes from the scope (``crm.tenancy.current_tenant_id``),
never from the caller: an association publishes and withdraws its own
organisations only (and on PostgreSQL the write policies of migration 0012
say the same).
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from crm import audit
from crm.folding import fold
from crm.i18n import _
from crm.models import Organisation, Participation, PartnerProfile, Project
from crm.models.project import FUNDED_STATUSES
from crm.profiles.folding import nace_section
from crm.regions import regions
from crm.tenancy import current_tenant_id
from crm.validation import RuleError

CAPABILITIES_MAX = 600
KEYWORDS_MAX = 300


def _tenant(org: Organisation | None = None) -> int:
    """The scope's tenant, which must own ``org`` (when given)."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise PermissionError("publishing needs a tenant scope")
    if org is not None and org.tenant_id != tenant_id:
        raise PermissionError("an association publishes its own organisations only")
    return tenant_id


def region_name(nuts2: str | None) -> str | None:
    """The name of a NUTS-2 region (crm.regions), in Latin letters: the profile
    is read by every association of the alliance."""
    region = regions().get(nuts2 or "")
    return region.latin if region else None


def programme_experience(session, organisation_id: int) -> dict[str, int]:
    """Programme code -> funded projects the organisation takes part in (scoped)."""
    rows = session.execute(
        select(Project.programme_code, func.count(func.distinct(Project.id)))
        .join(Participation, Participation.project_id == Project.id)
        .where(
            Participation.organisation_id == organisation_id,
            Participation.tenant_id == Project.tenant_id,
            Project.status.in_(FUNDED_STATUSES),
        )
        .group_by(Project.programme_code)
        .order_by(Project.programme_code)
    )
    return {code: count for code, count in rows}


def profile_of(session, organisation_id: int) -> PartnerProfile | None:
    """The scope's own published profile of the organisation, if any."""
    return session.scalar(
        select(PartnerProfile).where(
            PartnerProfile.tenant_id == _tenant(),
            PartnerProfile.organisation_id == organisation_id,
        )
    )


def _copy(
    profile: PartnerProfile, org: Organisation, capabilities, keywords, programmes: dict
) -> None:
    profile.name = org.name
    profile.country = org.country
    profile.nuts2 = org.nuts2
    profile.region_name = region_name(org.nuts2)
    profile.city = org.city
    profile.kind = org.kind
    profile.size_class = org.size_class
    profile.nace = org.nace
    profile.nace_section = nace_section(org.nace)
    profile.website = org.website
    profile.capabilities = capabilities
    profile.keywords = keywords
    profile.ecosystem_codes = "|" + "".join(f"{e.code}|" for e in org.ecosystems)
    profile.programme_codes = "|" + "".join(f"{code}|" for code in programmes)
    profile.programmes = programmes
    profile.search_text = fold(org.name, org.city, profile.region_name, capabilities, keywords)


def publish(
    session, org: Organisation, capabilities: str | None = None, keywords: str | None = None
) -> PartnerProfile:
    """Publish (or refresh) the organisation's profile with the association's
    consent; ``org`` was loaded in the scope. Marks it visible to the alliance."""
    tenant_id = _tenant(org)
    if org.archived:
        raise RuleError(_("An archived organisation cannot be published."))
    if org.is_external:
        raise RuleError(_("An external partner is not the association's to publish."))
    capabilities = (capabilities or "").strip()[:CAPABILITIES_MAX] or None
    keywords = (keywords or "").strip()[:KEYWORDS_MAX] or None
    profile = profile_of(session, org.id)
    action = "publish" if profile is None else "republish"
    if profile is None:
        profile = PartnerProfile(tenant_id=tenant_id, organisation_id=org.id)
    _copy(profile, org, capabilities, keywords, programme_experience(session, org.id))
    session.add(profile)  # after the copy: its queries would autoflush an empty row
    org.discoverable = True
    audit.record(
        session,
        action,
        tenant_id=tenant_id,
        entity_type="organisations",
        entity_id=org.id,
        summary=f"Partner profile of {org.name} published to the alliance",
    )
    session.flush()
    return profile


def withdraw(session, org: Organisation) -> bool:
    """Remove the organisation's profile from every search at once; whether one was there."""
    tenant_id = _tenant(org)
    removed = session.execute(
        delete(PartnerProfile).where(
            PartnerProfile.tenant_id == tenant_id, PartnerProfile.organisation_id == org.id
        )
    ).rowcount
    org.discoverable = False
    if removed:
        # Consent taken back: the organisation's pending interests go with it.
        from crm.partner_requests.services import withdraw_pending

        withdraw_pending(session, tenant_id, organisation_id=org.id)
        audit.record(
            session,
            "withdraw",
            tenant_id=tenant_id,
            entity_type="organisations",
            entity_id=org.id,
            summary=f"Partner profile of {org.name} withdrawn from the alliance",
        )
    session.flush()
    return bool(removed)


def follow_organisation(session, org: Organisation) -> None:
    """After an edit: refresh a published copy, or withdraw it when the
    organisation is archived or no longer marked visible (consent taken back)."""
    profile = profile_of(session, org.id)
    if profile is None:
        return
    if org.archived or not org.discoverable or org.is_external:
        withdraw(session, org)
    else:
        programmes = programme_experience(session, org.id)
        _copy(profile, org, profile.capabilities, profile.keywords, programmes)
        session.flush()


def publish_visible(session, chunk: int = 1000) -> int:
    """Publish every organisation of the scope's association that is marked
    visible to the alliance and not yet published (operator command, demo);
    one audit event for the lot. Returns how many were published."""
    tenant_id = _tenant()
    published = set(
        session.scalars(
            select(PartnerProfile.organisation_id).where(PartnerProfile.tenant_id == tenant_id)
        )
    )
    experience: dict[int, dict[str, int]] = {}
    for org_id, code, count in session.execute(
        select(
            Participation.organisation_id,
            Project.programme_code,
            func.count(func.distinct(Project.id)),
        )
        .join(Project, Project.id == Participation.project_id)
        .where(Project.status.in_(FUNDED_STATUSES), Participation.tenant_id == Project.tenant_id)
        .group_by(Participation.organisation_id, Project.programme_code)
        .order_by(Participation.organisation_id, Project.programme_code)
    ):
        experience.setdefault(org_id, {})[code] = count
    orgs = session.scalars(
        select(Organisation)
        .where(
            Organisation.discoverable.is_(True),
            Organisation.archived.is_(False),
            Organisation.is_external.is_(False),
        )
        .options(selectinload(Organisation.ecosystems))
        .order_by(Organisation.id)
    ).all()
    count = 0
    for org in orgs:
        if org.id in published:
            continue
        profile = PartnerProfile(tenant_id=tenant_id, organisation_id=org.id)
        _copy(profile, org, None, None, experience.get(org.id, {}))
        session.add(profile)
        count += 1
        if count % chunk == 0:
            session.flush()
    if count:
        audit.record(
            session,
            "publish",
            tenant_id=tenant_id,
            entity_type="partner_profiles",
            summary=f"{count} partner profiles of organisations marked visible published",
        )
    session.flush()
    return count
