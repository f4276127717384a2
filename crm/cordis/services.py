"""Reconciliation verbs: Accept a CORDIS participation (create or complete the project
and the participation with CORDIS's data) and Dismiss one, with a reason.

They flush, never commit. They assume the caller checked that the user is the
association's staff; organisations are looked up in the association's scope, so
a tampered form cannot reach another association's records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.cordis import queries
from crm.i18n import _
from crm.models import CordisDismissal, CordisLink, Organisation, Participation, Project
from crm.models.cordis import CordisProject
from crm.models.reference import Programme
from crm.projects import services as projects
from crm.projects.partners import PartnerFields, name_key, record_external_partner
from crm.validation import RuleError

# CORDIS's roles (compared lower case) -> ours (crm.models.project.PARTICIPATION_ROLES).
ROLES = {
    "coordinator": "coordinator",
    "participant": "partner",
    "beneficiary": "partner",
    "partner": "partner",
    "associatedpartner": "associated_partner",
    "thirdparty": "third_party",
}


class CordisError(RuleError):
    """The reconciliation refuses the action."""


def _organisation(session, organisation_id: int) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.id == organisation_id))
    if org is None:
        raise CordisError(_("Choose an organisation of your association."))
    return org


def project_status(cordis: CordisProject, today: date) -> str:
    """Our status of a CORDIS grant: signed and under way is running, ended is closed."""
    if cordis.status and cordis.status.upper() in ("CLOSED", "TERMINATED"):
        return "closed"
    if cordis.end_date is not None and cordis.end_date < today:
        return "closed"
    if cordis.start_date is not None and cordis.start_date > today:
        return "funded"
    return "running"


def project_fields(cordis: CordisProject, today: date) -> dict:
    """A project's fields as CORDIS gives them (also the project form's pre-fill)."""
    return {
        "programme_code": cordis.programme_code,
        "call_id": (cordis.topics or cordis.sub_call or "")[:80] or None,
        "acronym": (cordis.acronym or cordis.grant_key)[:40],
        "title": (cordis.title or cordis.acronym or cordis.grant_key)[:300],
        "status": project_status(cordis, today),
        "start_date": cordis.start_date,
        "end_date": cordis.end_date,
        "total_budget": cordis.total_cost,
        "eu_contribution": cordis.ec_max_contribution,
        "description": None,
        "grant_number": cordis.grant_key,
    }


def _complete(project: Project, cordis: CordisProject) -> None:
    """Fill what the recorded project lacks; what the association typed stays."""
    for ours, theirs in (
        ("start_date", cordis.start_date),
        ("end_date", cordis.end_date),
        ("total_budget", cordis.total_cost),
        ("eu_contribution", cordis.ec_max_contribution),
    ):
        if getattr(project, ours) is None and theirs is not None:
            setattr(project, ours, theirs)


def _project_for(session, tenant_id: int, cordis: CordisProject, user_id, today) -> Project:
    """The association's project of the grant: linked, else recorded, else created.

    The link is unique per association and grant: when another Accept linked the
    grant first (even at the same moment), its project is used and ours rolled back.
    """
    key = cordis.grant_key
    link = session.scalar(select(CordisLink).where(CordisLink.grant_key == key))
    if link is None:
        project = session.scalar(
            select(Project).where(Project.grant_key == key).order_by(Project.id).limit(1)
        )
        created = project is None
        if created and session.get(Programme, cordis.programme_code) is None:
            raise CordisError(
                _("The programme %(code)s is not one of ours.", code=cordis.programme_code)
            )
        try:
            with session.begin_nested():
                if created:
                    fields = project_fields(cordis, today)
                    project = projects.create_project(
                        session, tenant_id, fields, user_id=user_id, changed_on=today
                    )
                session.add(
                    CordisLink(
                        tenant_id=tenant_id,
                        grant_key=key,
                        project_id=project.id,
                        created_project=created,
                        linked_by_id=user_id,
                    )
                )
                session.flush()
        except IntegrityError:
            link = session.scalar(select(CordisLink).where(CordisLink.grant_key == key))
            if link is None:
                raise
        else:
            _complete(project, cordis)
            return project
    project = session.scalar(select(Project).where(Project.id == link.project_id))
    _complete(project, cordis)
    return project


def accept(
    session, tenant_id: int, organisation_id: int, grant_key: str, *, user_id, today: date
) -> tuple[Project, bool]:
    """Record the organisation's participation in the grant as CORDIS gives it; returns
    the project and whether a participation was added (False: it was already there)."""
    org = _organisation(session, organisation_id)
    participant = queries.participant_for(org, grant_key)
    cordis = session.get(CordisProject, grant_key) if participant is not None else None
    if cordis is None:
        raise CordisError(
            _("CORDIS does not list %(name)s in grant %(grant)s.", name=org.name, grant=grant_key)
        )
    project = _project_for(session, tenant_id, cordis, user_id, today)
    recorded = session.scalar(
        select(Participation).where(
            Participation.project_id == project.id, Participation.organisation_id == org.id
        )
    )
    if recorded is not None:
        if recorded.budget_share is None:
            recorded.budget_share = participant.ec_contribution
            session.flush()
        return project, False
    role = ROLES.get((participant.role or "").replace("_", "").lower(), "partner")
    try:
        with session.begin_nested():
            projects.add_participation(
                session, project, org.id, role, participant.ec_contribution, user_id=user_id
            )
    except IntegrityError:  # recorded by a concurrent Accept a moment ago
        return project, False
    return project, True


def dismiss(
    session, tenant_id: int, organisation_id: int, grant_key: str, reason: str, *, user_id
) -> CordisDismissal:
    """Keep the participation out of the list, with the reason (once; again: unchanged)."""
    org = _organisation(session, organisation_id)
    reason = (reason or "").strip()
    if not reason:
        raise CordisError(_("Say why this participation is not to be recorded."), "reason")
    existing = session.scalar(
        select(CordisDismissal).where(
            CordisDismissal.organisation_id == org.id, CordisDismissal.grant_key == grant_key
        )
    )
    if existing is not None:
        return existing
    dismissal = CordisDismissal(
        tenant_id=tenant_id,
        grant_key=grant_key,
        organisation_id=org.id,
        reason=reason[:500],
        dismissed_by_id=user_id,
    )
    session.add(dismissal)
    session.flush()
    return dismissal


# CORDIS's activity types -> our kinds of organisation.
KINDS = {"HES": "university", "REC": "research_org", "PRC": "firm", "PUB": "public_body"}


@dataclass
class PartnersAdded:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # with the reason


def _possible_members(session, participants: list) -> dict[tuple, str]:
    """(country, name key, city key) -> the name of a member without a PIC that looks
    like a participant: such a participant is left for a person to match (the
    reconciliation's name suggestions), never recorded as an external partner."""
    countries = {p.country for p in participants if p.country}
    cities = {p.city for p in participants if p.city}
    if not countries or not cities:
        return {}
    rows = session.execute(
        select(Organisation.name, Organisation.country, Organisation.city).where(
            Organisation.is_external.is_(False),
            Organisation.pic.is_(None),
            Organisation.country.in_(countries),
            Organisation.city.in_(cities),
        )
    ).all()
    return {(r.country, name_key(r.name), name_key(r.city)): r.name for r in rows}


def add_consortium_partners(
    session, tenant_id: int, project_id: int, *, user_id, allowed_ids=None
) -> tuple[Project, PartnersAdded]:
    """Record the CORDIS participants of the project's grant that are not members of the
    association as external partners (found again by PIC, else name and country, as
    ``crm.projects.partners`` does) with CORDIS's country, city, PIC and kind, and add
    them to the consortium with CORDIS's role and EC contribution as budget share.

    Idempotent: a participant already in the project is not offered again. The caller
    checked that the user may change the project's consortium (``allowed_ids``: a
    cluster manager's organisations)."""
    project = session.scalar(select(Project).where(Project.id == project_id))
    if project is None:
        raise CordisError(_("Choose a project of your association."))
    participants = queries.consortium_partners(tenant_id, project)
    look_alike = _possible_members(session, participants)
    has_coordinator = session.scalar(
        select(Participation.id)
        .where(Participation.project_id == project.id, Participation.role == "coordinator")
        .limit(1)
    )
    done = PartnersAdded()
    for cp in participants:
        member = look_alike.get((cp.country, cp.name_key, name_key(cp.city)))
        if member is not None:
            done.skipped.append(f"{cp.name}: possibly your member {member} (record its PIC)")
            continue
        fields = PartnerFields(
            name=cp.name[:200],
            country=cp.country or "",
            kind=KINDS.get((cp.activity_type or "").upper(), "other"),
            city=cp.city,
            pic=cp.pic,
        )
        role = ROLES.get((cp.role or "").replace("_", "").lower(), "partner")
        if role == "coordinator" and has_coordinator:
            role = "partner"
        try:
            with session.begin_nested():
                org, _reused = record_external_partner(session, tenant_id, fields, allowed_ids)
                projects.add_participation(
                    session, project, org.id, role, cp.ec_contribution, user_id=user_id,
                    allowed_ids=allowed_ids,
                )  # fmt: skip
        except RuleError as error:
            reasons = "; ".join(m for messages in error.errors.values() for m in messages)
            done.skipped.append(f"{cp.name}: {reasons}")
            continue
        except IntegrityError:  # added by a concurrent request a moment ago
            continue
        has_coordinator = has_coordinator or role == "coordinator"
        done.added.append(cp.name)
    return project, done
