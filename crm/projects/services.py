"""Project verbs. They flush, never commit; the view commits once.

The tenant is implicit in the scoped session: a verb takes ``tenant_id`` only
when it must write it on new rows, never to pass it along unused. Every verb
assumes the caller has checked that the user may act on the project (see
``crm.projects.access``); organisation ids are checked here
against the tenant (and, for cluster managers, against ``allowed_ids``), so a
tampered form cannot reach another tenant's or another cluster's records.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from crm.conflicts import check_version, guard_unique
from crm.i18n import _
from crm.models import Ecosystem, FlagshipArea, Organisation, Participation, Project
from crm.models.project import (
    PARTICIPATION_ROLES,
    PROJECT_FIELDS,
    PROJECT_STATUSES,
    ProjectStatusChange,
)
from crm.projects import queries, rules
from crm.validation import RuleError


class ProjectError(RuleError):
    """The project rules refuse the change."""


def _race_lost() -> ProjectError:
    """What a save that lost a race says when the rules, read again, find nothing."""
    return ProjectError(_("Someone changed this consortium meanwhile: check it and try again."))


def _collect(pairs) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, messages in pairs:
        if messages:
            errors.setdefault(field, []).extend(messages)
    return errors


def project_errors(fields: dict, shares=()) -> dict[str, list[str]]:
    """The rules on a project's fields (and on its current budget shares)."""
    return _collect(
        [
            ("end_date", rules.check_dates(fields.get("start_date"), fields.get("end_date"))),
            ("total_budget", rules.check_amounts(fields.get("total_budget"), None)),
            ("eu_contribution", rules.check_amounts(None, fields.get("eu_contribution"))),
            (
                "eu_contribution",
                rules.check_eu_contribution(fields.get("status"), fields.get("eu_contribution")),
            ),
            ("total_budget", rules.check_budget_shares(fields.get("total_budget"), shares)),
            ("status", [] if fields.get("status") in PROJECT_STATUSES else [_("Unknown status.")]),
        ]
    )


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ProjectError(errors)


def _set_fields(session, project: Project, fields: dict) -> None:
    for name in PROJECT_FIELDS:
        if name in fields and name != "status":
            setattr(project, name, fields[name])
    if "grant_number" in fields:
        project.set_grant_number(fields["grant_number"])
    if "ecosystem_ids" in fields:
        ids = list(fields["ecosystem_ids"] or [])
        project.ecosystems = list(
            session.scalars(select(Ecosystem).where(Ecosystem.id.in_(ids)).order_by(Ecosystem.id))
        )
    if "flagship_ids" in fields:
        ids = list(fields["flagship_ids"] or [])
        project.flagships = list(
            session.scalars(
                select(FlagshipArea).where(FlagshipArea.id.in_(ids)).order_by(FlagshipArea.id)
            )
        )


def _record_status(session, project: Project, status: str, changed_on: date, user_id) -> None:
    if project.status == status and project.id is not None and project.status is not None:
        return
    previous = project.status
    project.status = status
    session.flush()
    session.add(
        ProjectStatusChange(
            tenant_id=project.tenant_id,
            project_id=project.id,
            from_status=previous,
            to_status=status,
            changed_on=changed_on,
            changed_by_id=user_id,
        )
    )


def create_project(
    session,
    tenant_id: int,
    fields: dict,
    *,
    user_id: int | None,
    changed_on: date,
    cluster_id: int | None = None,
) -> Project:
    """A new project of ``tenant_id``; its first status is recorded with ``changed_on``."""
    _raise_if(project_errors(fields))
    project = Project(tenant_id=tenant_id, cluster_id=cluster_id)
    _set_fields(session, project, fields)
    session.add(project)
    _record_status(session, project, fields["status"], changed_on, user_id)
    session.flush()
    return project


def _shares(project_id: int, leave_out: int | None = None) -> list[tuple[int, str, object]]:
    return [
        (p.organisation_id, p.role, p.budget_share)
        for p, _org in queries.consortium(project_id)
        if p.id != leave_out
    ]


def update_project(
    session,
    project: Project,
    fields: dict,
    *,
    user_id: int | None,
    changed_on: date,
    version: int | None = None,
) -> Project:
    """Change the project's fields; a new status is recorded with ``changed_on``.
    ``version``: the one the form was opened at (``crm.conflicts``)."""
    check_version(project, version)
    shares = [share for _org, _role, share in _shares(project.id)]
    _raise_if(project_errors(fields, shares))
    _set_fields(session, project, fields)
    _record_status(session, project, fields["status"], changed_on, user_id)
    session.flush()
    return project


def record_outcome(
    session,
    project: Project,
    status: str,
    changed_on: date,
    *,
    user_id: int | None,
    eu_contribution=None,
    version: int | None = None,
) -> Project:
    """A status change (submitted, funded, rejected, running, closed) on ``changed_on``.

    ``eu_contribution`` replaces the recorded one when given; a proposal or a
    rejected project must not carry one (left empty, a recorded amount is cleared).
    """
    check_version(project, version)
    eu = project.eu_contribution if eu_contribution is None else eu_contribution
    if eu_contribution is None and status in rules.NO_EU_CONTRIBUTION_STATUSES:
        eu = None  # nothing was granted: an amount recorded earlier goes
    errors = _collect(
        [
            ("status", [] if status in PROJECT_STATUSES else [_("Unknown status.")]),
            ("eu_contribution", rules.check_amounts(None, eu)),
            ("eu_contribution", rules.check_eu_contribution(status, eu)),
        ]
    )
    if not errors and status == project.status:
        errors = {
            "status": [
                _(
                    "The project is already %(status)s.",
                    status=str(PROJECT_STATUSES[status]).lower(),
                )
            ]
        }
    _raise_if(errors)
    project.eu_contribution = eu
    _record_status(session, project, status, changed_on, user_id)
    session.flush()
    return project


def _organisation(session, organisation_id, allowed_ids=None) -> Organisation:
    """The tenant's organisation (scoped query): within ``allowed_ids`` if given,
    or one of the tenant's external partners."""
    message = _("Choose an organisation of your association.")
    if allowed_ids is not None:
        message = _("Choose your cluster, one of its members or an external partner.")
    org = None
    if organisation_id is not None:
        org = session.scalar(select(Organisation).where(Organisation.id == organisation_id))
    if org is None or not (allowed_ids is None or org.id in allowed_ids or org.is_external):
        raise ProjectError(message, "organisation_id")
    return org


def _participation_errors(project: Project, participants, names) -> dict[str, list[str]]:
    return _collect(
        [
            (
                "organisation_id",
                rules.check_unique_organisations([p[0] for p in participants], names),
            ),
            ("role", rules.check_single_coordinator(p[1] for p in participants)),
            (
                "role",
                []
                if all(p[1] in PARTICIPATION_ROLES for p in participants)
                else [_("Unknown role.")],
            ),
            (
                "budget_share",
                rules.check_budget_share(participants[-1][2] if participants else None),
            ),
            (
                "budget_share",
                [
                    m
                    for m in rules.check_budget_shares(
                        project.total_budget, (p[2] for p in participants)
                    )
                    if "negative" not in m
                ],
            ),
        ]
    )


def add_participation(
    session,
    project: Project,
    organisation_id: int | None,
    role: str,
    budget_share=None,
    *,
    user_id: int | None,
    allowed_ids=None,
) -> Participation:
    """Add an organisation of the tenant to the project's consortium.

    ``allowed_ids``: the only members the user may add (a cluster manager: the
    cluster and its members), besides the tenant's external partners; None =
    any of the tenant's organisations.
    """
    org = _organisation(session, organisation_id, allowed_ids)

    def check() -> None:
        participants = [*_shares(project.id), (org.id, role, budget_share)]
        _raise_if(_participation_errors(project, participants, {org.id: org.name}))

    check()
    participation = Participation(
        tenant_id=project.tenant_id,
        project_id=project.id,
        organisation_id=org.id,
        role=role,
        budget_share=budget_share,
        logged_by_id=user_id,
    )
    guard_unique(session, lambda: session.add(participation), check, _race_lost())
    return participation


def update_participation(
    session,
    project: Project,
    participation: Participation,
    role: str,
    budget_share=None,
    *,
    version: int | None = None,
) -> Participation:
    """Change a participant's role and budget share (``version``: the one the
    form was opened at)."""
    check_version(participation, version)

    def check() -> None:
        participants = [
            *_shares(project.id, leave_out=participation.id),
            (participation.organisation_id, role, budget_share),
        ]
        _raise_if(_participation_errors(project, participants, {}))

    def change() -> None:
        participation.role = role
        participation.budget_share = budget_share

    check()
    guard_unique(session, change, check, _race_lost())
    return participation


def remove_participation(session, participation: Participation) -> None:
    session.delete(participation)
    session.flush()


def log_cluster_proposal(
    session,
    tenant_id: int,
    cluster_id: int,
    fields: dict,
    member_ids,
    *,
    cluster_role: str,
    user_id: int | None,
    changed_on: date,
) -> Project:
    """A cluster manager's new proposal: the cluster and the chosen members
    (partners) take part. Ids that are not current members are refused."""
    members = queries.cluster_member_ids(cluster_id)
    member_ids = list(dict.fromkeys(member_ids or []))
    strangers = [i for i in member_ids if i not in members]
    if strangers:
        raise ProjectError(_("Choose only current members of your cluster."), "member_ids")
    participants = [(cluster_id, cluster_role, None)] + [(i, "partner", None) for i in member_ids]
    errors = project_errors(fields)
    errors.update(
        _collect(
            [("cluster_role", [] if cluster_role in PARTICIPATION_ROLES else [_("Unknown role.")])]
        )
    )
    _raise_if(errors)
    project = create_project(
        session, tenant_id, fields, user_id=user_id, changed_on=changed_on, cluster_id=cluster_id
    )
    for org_id, role, share in participants:
        session.add(
            Participation(
                tenant_id=tenant_id,
                project_id=project.id,
                organisation_id=org_id,
                role=role,
                budget_share=share,
                logged_by_id=user_id,
            )
        )
    session.flush()
    return project
