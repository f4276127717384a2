"""Validation rules for projects and participations, on plain values.

Pure functions: no database, no request, no forms. Each returns a list of
error messages (empty when the values are valid), so the project forms, the
services and the bulk import all give the same answer in the same words.
Amounts are ``Decimal`` (or anything ``Decimal()`` accepts), ``None`` = not given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from crm import formats
from crm.i18n import _

# Statuses whose projects cannot have received EU money (nothing was granted).
NO_EU_CONTRIBUTION_STATUSES = ("proposal", "rejected")
COORDINATOR = "coordinator"


def _amount(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def check_dates(start: date | None, end: date | None) -> list[str]:
    """The end date must come after the start date (either may be unknown)."""
    if start is not None and end is not None and end <= start:
        return [
            _(
                "The end date (%(end)s) must be after the start date (%(start)s).",
                end=end.isoformat(),
                start=start.isoformat(),
            )
        ]
    return []


def check_amounts(total_budget, eu_contribution) -> list[str]:
    """Budget figures are not negative."""
    errors = []
    total, eu = _amount(total_budget), _amount(eu_contribution)
    if total is not None and total < 0:
        errors.append(_("The total budget cannot be negative."))
    if eu is not None and eu < 0:
        errors.append(_("The EU contribution cannot be negative."))
    return errors


def check_eu_contribution(status: str | None, eu_contribution) -> list[str]:
    """A proposal or a rejected project reports no EU contribution received."""
    eu = _amount(eu_contribution)
    if status in NO_EU_CONTRIBUTION_STATUSES and eu is not None and eu != 0:
        if status == "proposal":
            return [
                _(
                    "The project is a proposal: it has received no EU contribution, "
                    "so leave the EU contribution empty."
                )
            ]
        return [
            _(
                "The project is a rejected project: it has received no EU contribution, "
                "so leave the EU contribution empty."
            )
        ]
    return []


def check_budget_share(share) -> list[str]:
    """One participant's budget share is zero or more."""
    value = _amount(share)
    if value is not None and value < 0:
        return [_("A budget share cannot be negative.")]
    return []


def check_budget_shares(total_budget, shares: Iterable) -> list[str]:
    """Every share is ≥ 0 and together they are not above the project's total budget.

    Without a total budget only the sign of each share is checked.
    """
    values = [_amount(share) for share in shares]
    errors = []
    if any(value is not None and value < 0 for value in values):
        errors.append(_("A budget share cannot be negative."))
    total = _amount(total_budget)
    summed = sum((value for value in values if value is not None), Decimal(0))
    if total is not None and summed > total:
        errors.append(
            _(
                "The participants' budget shares add up to %(summed)s, "
                "above the project's total budget of %(total)s.",
                summed=formats.number(summed, 2),
                total=formats.number(total, 2),
            )
        )
    return errors


def check_single_coordinator(roles: Iterable[str | None]) -> list[str]:
    """At most one coordinator among the tenant's participants."""
    count = sum(1 for role in roles if role == COORDINATOR)
    if count > 1:
        return [
            _(
                "A project has at most one coordinator; %(count)s participants are coordinators.",
                count=count,
            )
        ]
    return []


def check_unique_organisations(organisation_ids: Iterable, names: dict | None = None) -> list[str]:
    """An organisation takes part at most once in a project.

    ``names`` (id -> name) makes the message name the organisation.
    """
    counts = Counter(org_id for org_id in organisation_ids if org_id is not None)
    errors = []
    for org_id, count in counts.items():
        if count > 1:
            who = (names or {}).get(org_id) or _("Organisation %(id)s", id=org_id)
            errors.append(
                _(
                    "%(name)s already takes part in this project (an organisation at most once).",
                    name=who,
                )
            )
    return errors


def check_project(
    *,
    status: str | None,
    start: date | None,
    end: date | None,
    total_budget=None,
    eu_contribution=None,
) -> list[str]:
    """All rules about the project's own fields."""
    return (
        check_dates(start, end)
        + check_amounts(total_budget, eu_contribution)
        + check_eu_contribution(status, eu_contribution)
    )


def check_consortium(
    total_budget,
    participants: Sequence[tuple[object, str | None, object]],
    names: dict | None = None,
) -> list[str]:
    """All rules about the participants: ``(organisation_id, role, budget_share)`` tuples."""
    return (
        check_unique_organisations([p[0] for p in participants], names)
        + check_single_coordinator(p[1] for p in participants)
        + check_budget_shares(total_budget, (p[2] for p in participants))
    )
