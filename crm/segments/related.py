"""Filters across related records, shared by the directory, the contacts list and
segments: each is a set-based EXISTS on the organisation's row (no join that
multiplies rows), read through an index that leads with tenant_id.

* members of a cluster (``cluster``, the directory's own): cluster_memberships,
  through its unique key (tenant_id, cluster_id, member_id);
* with a contact of a role (``contact_role``): contacts, ``ix_contacts_tenant_role``;
* in projects of a programme (``programme``): participations joined with projects,
  ``ix_projects_tenant_programme`` and the participations' unique key;
* tagged (``tag``): organisation_tags / contact_tags, their primary key
  (tenant_id, tag_id, row id);
* in an ecosystem (``ecosystem``): ``ix_organisation_ecosystems_tenant_ecosystem``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, select

from crm.models import (
    ClusterMembership,
    Contact,
    Participation,
    Project,
    organisation_ecosystems,
    organisation_tags,
)
from crm.models.contact import CONTACT_ROLES
from crm.validation import MAX_ID


def positive_id(args, name: str) -> int | None:
    """An id argument read leniently: anything but a positive id is no filter."""
    try:
        value = int(args.get(name, ""))
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None


def programme_code(args, name: str = "programme") -> str:
    """A programme code's shape (``HE``, ``INTERREG``): an unknown one matches nothing."""
    value = (args.get(name) or "").strip().upper()
    return value if value.replace("_", "").isalnum() and len(value) <= 20 else ""


def role_of(args, name: str = "contact_role") -> str:
    value = (args.get(name) or "").strip()
    return value if value in CONTACT_ROLES else ""


def organisations_with_role(role: str) -> Select:
    """Ids of organisations with a (not erased) contact of ``role``:
    ``ix_contacts_tenant_role (tenant_id, role, organisation_id)``, index-only."""
    return select(Contact.organisation_id).where(Contact.role == role, Contact.erased_at.is_(None))


def organisations_in_programme(code: str) -> Select:
    """Ids of organisations taking part in a project of programme ``code``."""
    return (
        select(Participation.organisation_id)
        .join(
            Project,
            (Project.tenant_id == Participation.tenant_id)
            & (Project.id == Participation.project_id),
        )
        .where(Project.programme_code == code)
    )


def one_set(ids: Select) -> Select:
    """``ids`` as one set, hashed once: OFFSET 0 keeps PostgreSQL from turning
    ``IN (…)`` into a nested loop along the list's sort index (a page's LIMIT
    tempts it), which would probe the related tables once per row."""
    return ids.offset(0)


def has_tag(links, column: str, tenant_col, row_col, tag_id: int):
    """``links`` (organisation_tags or contact_tags) holds (tenant, tag, row)."""
    return exists().where(
        links.c.tenant_id == tenant_col, links.c.tag_id == tag_id, links.c[column] == row_col
    )


def in_cluster(tenant_col, org_col, cluster_id: int):
    return exists().where(
        ClusterMembership.tenant_id == tenant_col,
        ClusterMembership.member_id == org_col,
        ClusterMembership.cluster_id == cluster_id,
    )


def in_ecosystem(tenant_col, org_col, ecosystem_id: int):
    oe = organisation_ecosystems.c
    return exists().where(
        oe.tenant_id == tenant_col, oe.organisation_id == org_col, oe.ecosystem_id == ecosystem_id
    )


@dataclass
class RelatedFilters:
    """The directory's filters across related records (its own ``cluster`` and
    ``ecosystem`` filters already are such EXISTS): ``apply`` is the one hook
    the directory's filter builder calls."""

    tag: int | None = None
    contact_role: str = ""
    programme: str = ""

    @classmethod
    def from_args(cls, args) -> RelatedFilters:
        return cls(
            tag=positive_id(args, "tag"),
            contact_role=role_of(args),
            programme=programme_code(args),
        )

    def args(self) -> dict:
        return {"tag": self.tag, "contact_role": self.contact_role, "programme": self.programme}

    @property
    def active(self) -> bool:
        return bool(self.tag or self.contact_role or self.programme)

    def apply(self, query, organisation):
        """``query`` narrowed to the organisations (the ``organisation`` entity) that match."""
        tenant, org_id = organisation.tenant_id, organisation.id
        if self.tag:
            query = query.where(
                has_tag(organisation_tags, "organisation_id", tenant, org_id, self.tag)
            )
        if self.contact_role:
            query = query.where(org_id.in_(one_set(organisations_with_role(self.contact_role))))
        if self.programme:
            query = query.where(org_id.in_(one_set(organisations_in_programme(self.programme))))
        return query
