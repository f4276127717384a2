"""Who may see and change which project, as predicates and query filters.

Tenant admins and the secretariat (``STAFF``) see and correct every project
of their association. A cluster manager sees the projects of their cluster
(recorded by it, or with it among the participants), changes only those
their cluster recorded, and puts in a consortium only the cluster, its
current members and the association's external partners (which are not
members: a cluster manager may record one, and sees no member outside their
cluster). Anything else answers 404, like another tenant's ids.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import false, select

from crm.accounts.access import STAFF, has_role
from crm.extensions import db
from crm.models import Organisation, Participation, Project
from crm.projects import queries


def is_staff() -> bool:
    return has_role(STAFF)


def own_cluster_id() -> int | None:
    """The cluster the user is limited to; None for staff (no limit)."""
    return None if is_staff() else current_user.cluster_id


def visible():
    """A WHERE clause: the projects the user may see (the tenant's, or their cluster's)."""
    if is_staff():
        return None
    if current_user.cluster_id is None:
        return false()
    return queries.cluster_clause(current_user.cluster_id)


def can_edit(project: Project) -> bool:
    return is_staff() or (
        current_user.cluster_id is not None and project.cluster_id == current_user.cluster_id
    )


def allowed_organisations() -> set[int] | None:
    """Members the user may put in a consortium: None = any of the tenant's. External
    partners are allowed to everyone who may change the consortium (``may_take_part``)."""
    cluster_id = own_cluster_id()
    if cluster_id is None:
        return None
    return {cluster_id, *queries.cluster_member_ids(cluster_id)}


def may_take_part(organisation: Organisation, allowed: set[int] | None) -> bool:
    """Whether the user may put (or keep) ``organisation`` in a consortium."""
    return allowed is None or organisation.id in allowed or organisation.is_external


def visible_project_or_404(project_id: int) -> Project:
    """The tenant's project (scoped query); for a cluster manager only one of their cluster's."""
    query = select(Project).where(Project.id == project_id)
    clause = visible()
    if clause is not None:
        query = query.where(clause)
    project = db.session.scalar(query)
    if project is None:
        abort(404)
    return project


def editable_project_or_404(project_id: int) -> Project:
    project = visible_project_or_404(project_id)
    if not can_edit(project):
        abort(404)
    return project


def participation_or_404(project: Project, participation_id: int) -> Participation:
    """One participant of the project, if the user may touch its organisation."""
    row = db.session.execute(
        select(Participation, Organisation)
        .join(Participation.organisation)
        .where(Participation.id == participation_id, Participation.project_id == project.id)
    ).first()
    if row is None or not may_take_part(row.Organisation, allowed_organisations()):
        abort(404)
    return row.Participation


def own_cluster_or_404() -> Organisation:
    """The cluster manager's own cluster."""
    cluster = None
    if current_user.cluster_id is not None:
        cluster = db.session.scalar(
            select(Organisation).where(Organisation.id == current_user.cluster_id)
        )
    if cluster is None:
        abort(404)
    return cluster
