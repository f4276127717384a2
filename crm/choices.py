"""Every list a form or a filter offers, from one place.

Reference data (ecosystems, programmes, flagship areas) and the tenant's
clusters are read here, one query each; the fixed lists (organisation kinds,
size classes, statuses, roles, fee tiers, consent sources) are defined with
their models and imported from here by forms and views. Labels are in the
reader's language (lazy for the fixed lists; codes never change). Lists are
``(value, label)`` pairs; ``crm.forms.choices`` makes WTForms choices of them.

Archived clusters: an archived cluster is not offered for a new link, but
one already chosen (``keep``: the organisation's current clusters, a filter's
selected value) is still listed, so an existing link displays and survives a
save.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, false, func, or_, select

from crm.collation import in_tenant_order
from crm.extensions import db
from crm.models import Ecosystem, FlagshipArea, Organisation, Programme, Tag
from crm.models.contact import CONSENT_SOURCES, CONTACT_ROLES
from crm.models.membership import FEE_TIERS, MEMBERSHIP_STATUSES
from crm.models.organisation import KINDS, SIZE_CLASSES
from crm.models.project import PARTICIPATION_ROLES, PROJECT_STATUSES
from crm.models.reference import ecosystem_label, flagship_label, programme_label

__all__ = [
    "CONSENT_SOURCES",
    "CONTACT_ROLES",
    "FEE_TIERS",
    "KINDS",
    "MEMBERSHIP_STATUSES",
    "PARTICIPATION_ROLES",
    "PROJECT_STATUSES",
    "SIZE_CLASSES",
    "clusters",
    "ecosystems",
    "flagships",
    "programmes",
    "tags",
]


def ecosystems() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Ecosystem.id, Ecosystem.code, Ecosystem.name).order_by(Ecosystem.id)
    )
    return [(id_, ecosystem_label(code, name)) for id_, code, name in rows]


def flagships() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(FlagshipArea.id, FlagshipArea.code, FlagshipArea.name).order_by(FlagshipArea.id)
    )
    return [(id_, flagship_label(code, name)) for id_, code, name in rows]


def programmes() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Programme.code, Programme.name).order_by(Programme.code))
    return [(code, f"{code} — {programme_label(code, name)}") for code, name in rows]


def clusters(
    keep: Iterable[int | None] | Select | None = None, exclude_id: int | None = None
) -> list[tuple[int, str]]:
    """The tenant's clusters by name: those not archived, and those in ``keep``
    (ids, or a query of ids); ``exclude_id`` is left out (a cluster is never its
    own member)."""
    offered = Organisation.archived == false()
    if isinstance(keep, Select):
        offered = or_(offered, Organisation.id.in_(keep))
    elif keep is not None and (ids := {i for i in keep if i is not None}):
        offered = or_(offered, Organisation.id.in_(ids))
    # A foreign cluster recorded as an external partner is not one of the tenant's clusters.
    query = select(Organisation.id, Organisation.name).where(
        Organisation.kind == "cluster", Organisation.is_external == false(), offered
    )
    if exclude_id is not None:
        query = query.where(Organisation.id != exclude_id)
    rows = db.session.execute(
        query.order_by(in_tenant_order(Organisation.sort_name), Organisation.id)
    )
    return [tuple(r) for r in rows]


def tags() -> list[tuple[int, str]]:
    """The association's tags by name."""
    rows = db.session.execute(
        select(Tag.id, Tag.name).order_by(in_tenant_order(func.lower(Tag.name)), Tag.id)
    )
    return [tuple(r) for r in rows]
