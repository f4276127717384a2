"""Reconciliation reads: the association's organisations matched to CORDIS participants
(by PIC, else VAT; by name, country and city as a suggestion only), the grants found in
CORDIS but not recorded here, and the recorded grants CORDIS does not know.

Organisations, projects and decisions are scoped to the current association
(automatically, and by name here as well, since the CORDIS tables are shared);
each list is one statement whatever the data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.models import CordisDismissal, CordisLoad, Organisation, Participation, Project
from crm.models.cordis import CordisParticipant, CordisProject
from crm.models.project import FUNDED_STATUSES
from crm.projects.partners import name_key

# Our programmes whose grants CORDIS publishes (the EIC's are Horizon Europe grants).
CORDIS_PROGRAMMES = ("HE", "H2020", "EIC")
LIST_LIMIT = 500
_NAME_CHUNK = 500

CP = CordisParticipant


def _members(tenant_id: int):
    return and_(
        Organisation.tenant_id == tenant_id,
        Organisation.archived == false(),
        Organisation.is_external == false(),
    )


def matches(tenant_id: int):
    """(organisation_id, participant_id, matched_by) of every PIC or VAT match; an
    organisation with a PIC is matched by it alone, the VAT number only without one."""
    by_pic = (
        select(
            Organisation.id.label("organisation_id"),
            CP.id.label("participant_id"),
            literal("PIC").label("matched_by"),
        )
        .join(CP, CP.pic == Organisation.pic)
        .where(_members(tenant_id), Organisation.pic.is_not(None))
    )
    by_vat = (
        select(Organisation.id, CP.id, literal("VAT"))
        .join(CP, CP.vat_number == Organisation.vat_id)
        .where(_members(tenant_id), Organisation.pic.is_(None), Organisation.vat_id.is_not(None))
    )
    return union_all(by_pic, by_vat).subquery("matched")


def _recorded(tenant_id: int, organisation_id, grant_key):
    return (
        exists()
        .where(
            Participation.tenant_id == tenant_id,
            Participation.organisation_id == organisation_id,
            Project.tenant_id == tenant_id,
            Project.id == Participation.project_id,
            Project.grant_key == grant_key,
        )
        .correlate_except(Participation, Project)
    )


def _dismissed(tenant_id: int, organisation_id, grant_key):
    return exists().where(
        CordisDismissal.tenant_id == tenant_id,
        CordisDismissal.organisation_id == organisation_id,
        CordisDismissal.grant_key == grant_key,
    )


def unrecorded(tenant_id: int, limit: int = LIST_LIMIT) -> list:
    """Found in CORDIS, not recorded here: a matched member's grant participations that
    the association has neither recorded (same grant key) nor dismissed."""
    m = matches(tenant_id)
    return db.session.execute(
        select(
            Organisation.id.label("organisation_id"),
            Organisation.name.label("organisation_name"),
            m.c.matched_by,
            CP.grant_key,
            CP.role,
            CP.ec_contribution,
            CordisProject.acronym,
            CordisProject.title,
            CordisProject.programme_code,
            CordisProject.start_date,
            CordisProject.end_date,
        )
        .select_from(m)
        .join(Organisation, Organisation.id == m.c.organisation_id)
        .join(CP, CP.id == m.c.participant_id)
        .join(CordisProject, CordisProject.grant_key == CP.grant_key)
        .where(
            Organisation.tenant_id == tenant_id,
            ~_recorded(tenant_id, Organisation.id, CP.grant_key),
            ~_dismissed(tenant_id, Organisation.id, CP.grant_key),
        )
        .order_by(Organisation.name, Organisation.id, CordisProject.start_date.desc(), CP.id)
        .limit(limit)
    ).all()


def unknown_grants(tenant_id: int, limit: int = LIST_LIMIT) -> list:
    """Recorded funded projects of CORDIS's programmes whose grant CORDIS does not know."""
    return db.session.execute(
        select(
            Project.id,
            Project.acronym,
            Project.grant_number,
            Project.programme_code,
            Project.status,
        )
        .where(
            Project.tenant_id == tenant_id,
            Project.status.in_(FUNDED_STATUSES),
            Project.programme_code.in_(CORDIS_PROGRAMMES),
            Project.grant_key.is_not(None),
            ~exists().where(CordisProject.grant_key == Project.grant_key),
        )
        .order_by(Project.acronym, Project.id)
        .limit(limit)
    ).all()


@dataclass
class Suggestion:
    organisation_id: int
    organisation_name: str
    city: str | None
    cordis_name: str
    pic: str | None
    grants: int


def name_suggestions(tenant_id: int, limit: int = LIST_LIMIT) -> list[Suggestion]:
    """Members without a PIC or VAT match whose name (legal forms, case and accents
    ignored), country and city equal a CORDIS participant's whose PIC no organisation
    of the association holds: to be confirmed by a person (recording the PIC), never
    matched on their own."""
    m = matches(tenant_id)
    matched = select(m.c.organisation_id)
    candidates = db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.country, Organisation.city).where(
            _members(tenant_id), Organisation.pic.is_(None), Organisation.id.not_in(matched)
        )
    ).all()
    # (country, name key) -> [(organisation, city key)]: every key computed once (a
    # common name is shared by many members, and their cities were keyed again per row).
    wanted: dict[tuple[str, str], list] = defaultdict(list)
    for org in candidates:
        key = name_key(org.name)
        if key and org.city:
            wanted[(org.country, key)].append((org, name_key(org.city)))
    # A PIC the association already records names that organisation, not another.
    held = select(Organisation.pic).where(
        Organisation.tenant_id == tenant_id, Organisation.pic.is_not(None)
    )
    found: list[Suggestion] = []
    keys = sorted(wanted)
    for start in range(0, len(keys), _NAME_CHUNK):
        chunk = keys[start : start + _NAME_CHUNK]
        rows = db.session.execute(
            select(CP.country, CP.name_key, CP.city, CP.pic, func.min(CP.name), func.count())
            .where(
                CP.country.in_({c for c, _ in chunk}),
                CP.name_key.in_({k for _, k in chunk}),
                CP.pic.not_in(held),
            )
            .group_by(CP.country, CP.name_key, CP.city, CP.pic)
        ).all()
        for country, key, city, pic, cordis_name, grants in rows:
            city_key = name_key(city)
            for org, org_city in wanted.get((country, key), ()):
                if org_city == city_key:
                    found.append(Suggestion(org.id, org.name, org.city, cordis_name, pic, grants))
    found.sort(key=lambda s: (s.organisation_name.lower(), s.organisation_id, s.pic or ""))
    return found[:limit]


def last_load() -> CordisLoad | None:
    return db.session.scalar(select(CordisLoad).order_by(CordisLoad.id.desc()).limit(1))


def participant_for(organisation: Organisation, grant_key: str) -> CordisParticipant | None:
    """The CORDIS row that names ``organisation`` in the grant (PIC, else VAT)."""
    if organisation.pic:
        match = CP.pic == organisation.pic
    elif organisation.vat_id:
        match = CP.vat_number == organisation.vat_id
    else:
        return None
    return db.session.scalar(
        select(CP).where(CP.grant_key == grant_key, match).order_by(CP.id).limit(1)
    )


# -- consortium partners: CORDIS participants who are not the association's members ----


def _not_a_member(tenant_id: int):
    """The CORDIS participant matches none of the association's members (by PIC, or
    by VAT number for a member without a PIC: the reconciliation's rules)."""
    member = aliased(Organisation)
    is_member = and_(
        member.tenant_id == tenant_id,
        member.archived == false(),
        member.is_external == false(),
    )
    by_pic = exists().where(is_member, member.pic == CP.pic)
    by_vat = exists().where(is_member, member.pic.is_(None), member.vat_id == CP.vat_number)
    return and_(~by_pic, ~by_vat)


def _in_project(tenant_id: int, project_id):
    """The participant is in the project already: an organisation of it holds the PIC,
    or an external partner without one has the same name key and country."""
    org, part = aliased(Organisation), aliased(Participation)
    return (
        exists()
        .where(
            part.tenant_id == tenant_id,
            part.project_id == project_id,
            org.tenant_id == tenant_id,
            org.id == part.organisation_id,
            or_(
                org.pic == CP.pic,
                and_(
                    org.pic.is_(None),
                    org.is_external == true(),
                    org.name_key == CP.name_key,
                    org.country == CP.country,
                ),
            ),
        )
        .correlate_except(org, part)
    )


def partners_to_add(tenant_id: int, limit: int = LIST_LIMIT) -> list:
    """Per recorded project whose grant CORDIS knows: how many of its CORDIS
    participants are not members and not in the project yet (to add as external
    partners). One statement."""
    return db.session.execute(
        select(
            Project.id,
            Project.acronym,
            Project.grant_key,
            func.count(CP.id).label("partners"),
        )
        .join(CP, CP.grant_key == Project.grant_key)
        .where(
            Project.tenant_id == tenant_id,
            _not_a_member(tenant_id),
            ~_in_project(tenant_id, Project.id),
        )
        .group_by(Project.id, Project.acronym, Project.grant_key)
        .order_by(Project.acronym, Project.id)
        .limit(limit)
    ).all()


def consortium_partners(tenant_id: int, project: Project) -> list[CordisParticipant]:
    """The project's CORDIS participants that are not members and not in it yet."""
    if not project.grant_key:
        return []
    return db.session.scalars(
        select(CP)
        .where(
            CP.grant_key == project.grant_key,
            _not_a_member(tenant_id),
            ~_in_project(tenant_id, project.id),
        )
        .order_by(CP.id)
    ).all()
