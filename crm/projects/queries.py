"""Read queries of the projects area: the filtered list, the consortium, the
cluster manager's view. Tenant-owned rows are scoped automatically; the
many-to-many tables are joined on the project's own tenant and id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, exists, extract, func, or_, select

from crm.extensions import db
from crm.models import (
    ClusterMembership,
    Ecosystem,
    FlagshipArea,
    Organisation,
    Participation,
    Programme,
    Project,
    ProjectStatusChange,
    User,
    project_ecosystems,
)


@dataclass
class ProjectFilters:
    programme: str | None = None
    status: str | None = None
    year: int | None = None
    ecosystem_id: int | None = None
    cluster_id: int | None = None
    organisation_id: int | None = None


def _participates(organisation_id: int):
    return exists().where(
        Participation.tenant_id == Project.tenant_id,
        Participation.project_id == Project.id,
        Participation.organisation_id == organisation_id,
    )


def cluster_clause(cluster_id: int):
    """Projects of a cluster: recorded by it, or with the cluster among the participants."""
    return or_(Project.cluster_id == cluster_id, _participates(cluster_id))


def projects(filters: ProjectFilters | None = None) -> Select:
    """The tenant's projects matching ``filters``, newest first."""
    f = filters or ProjectFilters()
    query = select(Project)
    if f.programme:
        query = query.where(Project.programme_code == f.programme)
    if f.status:
        query = query.where(Project.status == f.status)
    if f.year:
        query = query.where(extract("year", Project.start_date) == f.year)
    if f.ecosystem_id:
        query = query.where(
            exists().where(
                project_ecosystems.c.tenant_id == Project.tenant_id,
                project_ecosystems.c.project_id == Project.id,
                project_ecosystems.c.ecosystem_id == f.ecosystem_id,
            )
        )
    if f.cluster_id:
        query = query.where(cluster_clause(f.cluster_id))
    if f.organisation_id:
        query = query.where(_participates(f.organisation_id))
    return query.order_by(Project.start_date.desc().nulls_last(), Project.id.desc())


def participant_counts(project_ids) -> dict[int, int]:
    """Participants per project, in one query."""
    if not project_ids:
        return {}
    rows = db.session.execute(
        select(Participation.project_id, func.count())
        .where(Participation.project_id.in_(project_ids))
        .group_by(Participation.project_id)
    )
    return dict(rows.all())


def organisation_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    )
    return dict(rows.all())


def programme_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Programme.code, Programme.name).order_by(Programme.code))
    return [(code, f"{code} — {name}") for code, name in rows]


def ecosystem_choices() -> list[tuple[int, str]]:
    return list(
        db.session.execute(select(Ecosystem.id, Ecosystem.name).order_by(Ecosystem.id)).all()
    )


def flagship_choices() -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(FlagshipArea.id, FlagshipArea.name).order_by(FlagshipArea.id)
        ).all()
    )


def cluster_choices() -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(Organisation.id, Organisation.name)
            .where(Organisation.kind == "cluster")
            .order_by(Organisation.name)
        ).all()
    )


def organisation_choices(only_ids=None) -> list[tuple[int, str]]:
    """The tenant's organisations (not archived) as (id, name), or only ``only_ids``."""
    query = select(Organisation.id, Organisation.name).where(Organisation.archived.is_(False))
    if only_ids is not None:
        query = query.where(Organisation.id.in_(only_ids))
    return list(db.session.execute(query.order_by(Organisation.name, Organisation.id)).all())


def consortium(project_id: int) -> list[tuple[Participation, Organisation]]:
    """The project's participants with their organisations, coordinator first."""
    rows = db.session.execute(
        select(Participation, Organisation)
        .join(
            Organisation,
            and_(
                Organisation.tenant_id == Participation.tenant_id,
                Organisation.id == Participation.organisation_id,
            ),
        )
        .where(Participation.project_id == project_id)
        .order_by((Participation.role != "coordinator"), Organisation.name)
    )
    return list(rows.all())


def status_history(project_id: int) -> list[tuple[ProjectStatusChange, str | None]]:
    """Status changes, oldest first, with the name of who recorded each."""
    rows = db.session.execute(
        select(ProjectStatusChange, User.name)
        .outerjoin(User, User.id == ProjectStatusChange.changed_by_id)
        .where(ProjectStatusChange.project_id == project_id)
        .order_by(ProjectStatusChange.changed_on, ProjectStatusChange.id)
    )
    return list(rows.all())


def cluster_member_ids(cluster_id: int) -> set[int]:
    """Current members of the cluster (membership not ended by today)."""
    return set(
        db.session.scalars(
            select(ClusterMembership.member_id).where(
                ClusterMembership.cluster_id == cluster_id,
                or_(ClusterMembership.until.is_(None), ClusterMembership.until >= date.today()),
            )
        )
    )


def cluster_members(cluster_id: int) -> list[tuple[ClusterMembership, Organisation]]:
    rows = db.session.execute(
        select(ClusterMembership, Organisation)
        .join(
            Organisation,
            and_(
                Organisation.tenant_id == ClusterMembership.tenant_id,
                Organisation.id == ClusterMembership.member_id,
            ),
        )
        .where(ClusterMembership.cluster_id == cluster_id)
        .order_by(ClusterMembership.until.is_not(None), Organisation.name)
    )
    return list(rows.all())


def organisation_projects(organisation_id: int) -> list[tuple[Participation, Project]]:
    """An organisation's participations with their projects (for the organisation page)."""
    rows = db.session.execute(
        select(Participation, Project)
        .join(
            Project,
            and_(
                Project.tenant_id == Participation.tenant_id, Project.id == Participation.project_id
            ),
        )
        .where(Participation.organisation_id == organisation_id)
        .order_by(Project.start_date.desc().nulls_last(), Project.id.desc())
    )
    return list(rows.all())


def export_rows(query: Select, limit: int = 100_000):
    """Rows for the CSV/XLSX export of the filtered list: one query for the
    projects, one for participant counts, one for cluster names."""
    items = db.session.scalars(query.limit(limit)).all()
    counts = participant_counts([p.id for p in items])
    clusters = organisation_names(p.cluster_id for p in items)
    headers = [
        "id",
        "programme",
        "call id",
        "grant number",
        "acronym",
        "title",
        "status",
        "start",
        "end",
        "total budget",
        "EU contribution",
        "cluster",
        "participants",
    ]
    rows = (
        [
            p.id,
            p.programme_code,
            p.call_id,
            p.grant_number,
            p.acronym,
            p.title,
            p.status,
            p.start_date,
            p.end_date,
            p.total_budget,
            p.eu_contribution,
            clusters.get(p.cluster_id, ""),
            counts.get(p.id, 0),
        ]
        for p in items
    )
    return headers, rows
