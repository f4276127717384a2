"""The membership columns of an organisations import: each row's association
membership, created when the organisation has none, else its terms updated and a
status change recorded in its history (as the lifecycle form would).

Planned with the organisations (one query for the existing memberships), written
after them with the same set-based writers, in the same all-or-nothing transaction.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from crm.i18n import _
from crm.imports.writing import bulk_insert, bulk_update
from crm.models import AssociationMembership, MembershipStatusChange, Organisation, Tenant

KEYS = ("membership_status", "member_since", "fee_tier", "paid_until")
# The lifecycle's rule (crm.members.services): these statuses set the joining date.
_JOINING = {"active"}


def split(values: dict) -> dict | None:
    """Take the membership columns out of a row's values; None when all are empty."""
    membership = {k: values.pop(k, None) for k in KEYS}
    return membership if any(v is not None for v in membership.values()) else None


class MembershipPlanner:
    """The association's memberships and external partners, loaded once per import."""

    def __init__(self, session):
        self.by_org = {
            row.organisation_id: row
            for row in session.execute(
                select(
                    AssociationMembership.id,
                    AssociationMembership.organisation_id,
                    AssociationMembership.status,
                    AssociationMembership.fee_tier,
                    AssociationMembership.paid_until,
                    AssociationMembership.joined_on,
                    AssociationMembership.version,
                )
            )
        }
        self.external = set(
            session.scalars(select(Organisation.id).where(Organisation.is_external.is_(True)))
        )

    def errors(self, membership: dict, org_id: int | None) -> list[str]:
        out = []
        if org_id in self.external:
            out.append(_("An external partner has no membership of the association."))
        existing = self.by_org.get(org_id)
        if existing is None and membership["membership_status"] is None:
            out.append(_("Membership status is empty: a new membership needs one."))
        start, paid = membership["member_since"], membership["paid_until"]
        if start and paid and paid < start:
            out.append(_("Paid until: the membership cannot be paid until before it starts."))
        return out

    def changes(self, membership: dict, org_id: int | None) -> dict | None:
        """What the row changes in an existing membership (None: nothing)."""
        existing = self.by_org.get(org_id)
        if existing is None:
            return None
        after = {
            "status": membership["membership_status"] or existing.status,
            "fee_tier": membership["fee_tier"] or existing.fee_tier,
            "paid_until": membership["paid_until"] or existing.paid_until,
            "joined_on": existing.joined_on,
        }
        if after["status"] in _JOINING and after["joined_on"] is None:
            after["joined_on"] = membership["member_since"]
        before = {k: getattr(existing, k) for k in after}
        return None if after == before else after


def note(plan, key: tuple, membership: dict) -> None:
    """Note the row's membership: ``key`` is ("new", index in plan.creates) or ("org", id)."""
    plan.extra.setdefault("memberships", []).append((key, membership))
    report = plan.extra.setdefault("report", {})
    report["membership_rows"] = report.get("membership_rows", 0) + 1


def write(session, tenant: Tenant, plan, created_ids: list[int], now, progress) -> None:
    """Create and update the memberships the plan notes, with their history rows."""
    rows = plan.extra.get("memberships", [])
    if not rows:
        return
    planner = MembershipPlanner(session)
    today = date.today()
    new, changed = [], []
    for (where, ref), membership in rows:
        org_id = created_ids[ref] if where == "new" else ref
        if org_id in planner.by_org:
            after = planner.changes(membership, org_id)
            if after is not None:
                changed.append((planner.by_org[org_id], after, membership))
            continue
        status = membership["membership_status"]
        new.append(
            {
                "organisation_id": org_id,
                "status": status,
                "joined_on": membership["member_since"] if status in _JOINING else None,
                "left_on": None,
                "fee_tier": membership["fee_tier"],
                "paid_until": membership["paid_until"],
                "_since": membership["member_since"] or today,
            }
        )
    reason = "Recorded by an import."
    user_id = plan.extra.get("user_id")
    stamp = {"tenant_id": tenant.id, "created_at": now, "updated_at": now, "version": 1}
    since = {r["organisation_id"]: r.pop("_since") for r in new}
    bulk_insert(session, AssociationMembership.__table__, new, progress, 85, 90, common=stamp)
    ids = dict(
        session.execute(
            select(AssociationMembership.organisation_id, AssociationMembership.id).where(
                AssociationMembership.created_at == now
            )
        ).all()
    )
    history = [
        {
            "membership_id": ids[r["organisation_id"]],
            "from_status": None,
            "to_status": r["status"],
            "effective_on": since[r["organisation_id"]],
        }
        for r in new
    ]
    updates = []
    for existing, after, membership in changed:
        updates.append({"b_id": existing.id, **after, "version": existing.version + 1})
        if after["status"] != existing.status:
            history.append(
                {
                    "membership_id": existing.id,
                    "from_status": existing.status,
                    "to_status": after["status"],
                    "effective_on": membership["member_since"] or today,
                }
            )
    bulk_update(
        session, AssociationMembership.__table__, tenant, updates, common={"updated_at": now}
    )
    common = {"tenant_id": tenant.id, "reason": reason, "changed_by_id": user_id, "changed_at": now}
    bulk_insert(session, MembershipStatusChange.__table__, history, progress, 90, 95, common=common)
    plan.extra.setdefault("report", {})["memberships"] = {
        "created": len(new),
        "updated": len(updates),
    }
