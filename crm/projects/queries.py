"""Read queries of the projects area: the filtered list, the consortium, the
cluster manager's view. Tenant-owned rows are scoped automatically; the
many-to-many tables are joined on the project's own tenant and id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, exists, false, func, or_, select
from sqlalchemy.orm import aliased

from crm.dialects import folded_matches
from crm.exports import Export, columns
from crm.extensions import db
from crm.i18n import _, _l
from crm.models import (
    ClusterMembership,
    Organisation,
    Participation,
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
        # A date range, not extract(year): it can use the (tenant, start date) index.
        query = query.where(
            Project.start_date >= date(f.year, 1, 1), Project.start_date < date(f.year + 1, 1, 1)
        )
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
    # Matches ix_projects_tenant_start (migration 0007): pages are index scans, not sorts.
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


# The organisation picker lists at most this many names; past it, the user searches.
CHOICES_LIMIT = 100


def choice_label(name: str, is_external: bool, country: str | None) -> str:
    """How the picker names an organisation: external partners are labelled."""
    if is_external:
        return _("%(name)s — external partner, %(country)s", name=name, country=country)
    return name


def organisation_choices(
    only_ids=None,
    search: str | None = None,
    selected: int | None = None,
    limit: int | None = None,
    externals: bool = True,
) -> tuple[list[tuple[int, str]], bool]:
    """The tenant's organisations (not archived) as (id, label), by name, and
    whether more match than are listed.

    ``only_ids`` narrows the members to those ids; ``externals`` adds the
    tenant's external partners (labelled, whatever ``only_ids``: a cluster
    manager may put any of them in a consortium); ``search`` keeps names
    containing it (case and accents aside: ``crm.folding``); ``selected`` is listed too, so a
    re-shown form keeps the choice. At most ``limit`` rows are read (one more,
    to know whether there are more): an association of 20,000 organisations
    is never sent as one list.
    """
    limit = CHOICES_LIMIT if limit is None else limit
    # "archived = false" and lower(name), id: the partial index ix_organisations_dir_name.
    query = select(
        Organisation.id, Organisation.name, Organisation.is_external, Organisation.country
    ).where(Organisation.archived == false())
    offered = [] if only_ids is None else [Organisation.id.in_(only_ids)]
    if not externals:
        query = query.where(Organisation.is_external.is_(False))
    elif offered:
        offered.append(Organisation.is_external.is_(True))
    if offered:
        query = query.where(or_(*offered))
    listed = query
    if search:
        # The matches' ids from the name index alone (it INCLUDEs the folded name), in
        # the same order; only the listed rows are read from the table.
        matched = (
            query.with_only_columns(Organisation.id)
            .where(folded_matches(Organisation.search_name, search))
            .order_by(Organisation.sort_name, Organisation.id)
            .limit(limit + 1)
            .subquery("matched")
        )
        listed = query.join(matched, matched.c.id == Organisation.id)
    rows = db.session.execute(
        listed.order_by(func.lower(Organisation.name), Organisation.id).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if selected and selected not in {r.id for r in rows}:
        rows += db.session.execute(query.where(Organisation.id == selected)).all()
    return [(r.id, choice_label(r.name, r.is_external, r.country)) for r in rows], more


def consortium(project_id: int) -> list[tuple[Participation, Organisation]]:
    """The project's participants with their organisations, coordinator first."""
    rows = db.session.execute(
        select(Participation, Organisation)
        .join(Participation.organisation)
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


def members_of_cluster(cluster_id: int) -> list[tuple[ClusterMembership, Organisation]]:
    """The cluster's member links with their organisations, current ones first."""
    rows = db.session.execute(
        select(ClusterMembership, Organisation)
        .join(ClusterMembership.member)
        .where(ClusterMembership.cluster_id == cluster_id)
        .order_by(ClusterMembership.until.is_not(None), Organisation.name)
    )
    return list(rows.all())


_cluster = aliased(Organisation)

# The cluster's name and the participant count are correlated lookups on the
# (tenant, id) and (tenant, project, organisation) indexes: an outer join
# would hash every organisation of the association for a few dozen clusters.
EXPORT: Export = [
    (_l("id"), Project.id),
    (_l("programme"), Project.programme_code),
    (_l("call id"), Project.call_id),
    (_l("grant number"), Project.grant_number),
    (_l("acronym"), Project.acronym),
    (_l("title"), Project.title),
    (_l("status"), Project.status),
    (_l("start"), Project.start_date),
    (_l("end"), Project.end_date),
    (_l("total budget"), Project.total_budget),
    (_l("EU contribution"), Project.eu_contribution),
    (
        _l("cluster"),
        func.coalesce(
            select(_cluster.name)
            .where(_cluster.tenant_id == Project.tenant_id, _cluster.id == Project.cluster_id)
            .correlate(Project)
            .scalar_subquery(),
            "",
        ),
    ),
    (
        _l("participants"),
        select(func.count())
        .where(Participation.tenant_id == Project.tenant_id, Participation.project_id == Project.id)
        .correlate(Project)
        .scalar_subquery(),
    ),
]


def count(query: Select) -> int:
    """How many rows the list ``query`` holds (an export's size)."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def export_rows(query: Select, limit: int = 100_000):
    """Rows of the CSV/XLSX export of the filtered list (``EXPORT``'s columns), in
    one query, as plain tuples (no ORM objects for up to 100,000 rows)."""
    query = query.with_only_columns(*columns(EXPORT)).limit(limit)
    return db.session.execute(query.execution_options(yield_per=2000))
