"""Importing organisations: match by registration id, else by name and city;
the profile checked with the rules of the member forms."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from crm import validation
from crm.duplicates.queries import DuplicateIndex
from crm.i18n import _
from crm.identifiers import STORED_FORMS, normalise_registration_id
from crm.imports import memberships
from crm.imports.plan import ImportPlan, Progress
from crm.imports.reading import normalise_identifier, normalise_name
from crm.imports.writing import bulk_insert, bulk_update
from crm.models import Organisation, Tenant
from crm.models.base import utcnow
from crm.models.organisation import (
    DEFAULT_NACE_REVISION,
    DEFAULT_NUTS_REVISION,
    PROFILE_FIELDS,
    derive_size_class,
)

_UPPER = ("country", "nuts2", "nace")
_BLANK_ORGANISATION = dict.fromkeys(PROFILE_FIELDS) | {
    "is_startup": False,
    "nuts_revision": DEFAULT_NUTS_REVISION,
    "nace_revision": DEFAULT_NACE_REVISION,
}
# Rows whose likely duplicates the dry run lists (the count of rows is not limited).
MAX_DUPLICATE_WARNINGS = 1000


def _euros(value) -> int | None:
    if value is None:
        return None
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _org_keys(registration_id, name, city, country) -> tuple:
    """Matching keys: the registry number's compact form (a NIP typed with or without
    PL, a SIREN with its spaces: one key), and the name with the city."""
    registration_id = normalise_registration_id(registration_id, country)
    return normalise_identifier(registration_id), (normalise_name(name), normalise_name(city))


def plan_organisations(session, tenant: Tenant, rows, plan: ImportPlan, tick) -> None:
    duplicates = DuplicateIndex(session)
    member_planner = memberships.MembershipPlanner(session)
    columns = [getattr(Organisation, c) for c in PROFILE_FIELDS]
    existing = session.execute(select(Organisation.id, *columns).order_by(Organisation.id)).all()
    by_reg, by_name = {}, {}
    # PIC -> (who holds it, its id): a PIC names one organisation (a unique index too).
    by_pic = {row.pic: (row.name, row.id) for row in existing if row.pic}
    for row in existing:
        reg, name_city = _org_keys(row.registration_id, row.name, row.city, row.country)
        if reg:
            by_reg.setdefault(reg, row)
        by_name.setdefault(name_city, row)
    seen: dict = {}
    for i, (line, values, errors) in enumerate(rows):
        tick(i)
        label = values.get("name") or ""
        membership = memberships.split(values)
        for key in _UPPER:
            if values.get(key):
                values[key] = validation.normalise_code(values[key])
        if values.get("website"):
            values["website"] = validation.normalise_url(values["website"])
        reg, name_city = _org_keys(
            values.get("registration_id"),
            label,
            values.get("city"),
            values.get("country") or tenant.country,
        )
        match = by_reg.get(reg) if reg else None
        if match is None:
            candidate = by_name.get(name_city)
            # Same name and city but another registration id: a different organisation.
            if candidate is not None and not (
                reg and normalise_identifier(candidate.registration_id)
            ):
                match = candidate
        country = values.get("country") or (match.country if match else tenant.country)
        checked = {k: v for k, v in values.items() if k in PROFILE_FIELDS and v is not None}
        checked.setdefault("kind", match.kind if match else "firm")
        checked["country"] = country
        errors = errors + [
            _("%(field)s: %(error)s", field=plan.labels.get(k, k), error=message)
            for k, message in validation.organisation_errors(checked).items()
        ]
        if membership is not None:
            errors += member_planner.errors(membership, match.id if match else None)
        if errors:
            plan.reject(line, " ".join(errors), label)
            continue
        for key, normalise in STORED_FORMS.items():
            if checked.get(key):
                checked[key] = normalise(checked[key], country)
        pic = checked.get("pic")
        holder = by_pic.get(pic) if pic else None
        if holder is not None and (match is None or holder[1] != match.id):
            plan.reject(
                line,
                _("PIC %(pic)s is already recorded (%(where)s).", pic=pic, where=holder[0]),
                label,
            )
            continue
        # In-file duplicates: the same registration id, or the same name and city
        # where one of the two rows has no registration id to tell them apart.
        earlier = seen.get(("reg", reg)) if reg else None
        duplicate = _("Duplicate of line %(line)s (same registration id).")
        if earlier is None and name_city in seen:
            other_line, other_reg = seen[name_city]
            if not (reg and other_reg):
                earlier = other_line
                duplicate = _("Duplicate of line %(line)s (same name and city).")
        if earlier is not None:
            plan.reject(line, duplicate % {"line": earlier}, label)
            continue
        if reg:
            seen[("reg", reg)] = line
        if pic:
            by_pic[pic] = (_("line %(line)s", line=line), match.id if match is not None else None)
        seen.setdefault(name_city, (line, reg))
        new = dict(checked)
        if match is not None and values.get("country") is None:
            new.pop("country")  # not in the file: keep the organisation's own
        for money in ("turnover_eur", "balance_sheet_eur"):
            if money in new:
                new[money] = _euros(new[money])
        if match is None:
            record = _BLANK_ORGANISATION | new
            record["kind"] = record["kind"] or "firm"
            record["size_class"] = _size_class(record)
            plan.creates.append(record)
            if membership is not None:
                memberships.note(plan, ("new", len(plan.creates) - 1), membership)
            _warn_duplicates(plan, line, label, duplicates.candidates(record))
            continue
        if membership is not None:
            memberships.note(plan, ("org", match.id), membership)
        before = dict(zip(PROFILE_FIELDS, match[1:], strict=True))
        after = before | new
        after["size_class"] = _size_class(after)
        before["size_class"] = _size_class(before)
        if after == before:  # stored amounts are whole euros, read ones rounded to them
            plan.unchanged += 1
        else:
            plan.updates.append({"b_id": match.id, **after})


def _warn_duplicates(plan: ImportPlan, line: int, label: str, found) -> None:
    """A warning in the dry run's report, not a rejection: the user decides."""
    if not found:
        return
    warnings = plan.extra.setdefault("report", {}).setdefault("duplicates", [])
    if len(warnings) < MAX_DUPLICATE_WARNINGS:
        warnings.append(
            {
                "line": line,
                "label": label[:120],
                "candidates": [
                    {"id": c.id, "name": c.name, "city": c.city, "reasons": c.reasons}
                    for c in found
                ],
            }
        )


def _size_class(values: dict) -> str | None:
    if values.get("kind") != "firm":
        return None
    return derive_size_class(
        values.get("employees"), values.get("turnover_eur"), values.get("balance_sheet_eur")
    )


def write_organisations(session, tenant: Tenant, plan: ImportPlan, progress: Progress) -> None:
    table = Organisation.__table__
    now = utcnow()
    stamp = {
        "tenant_id": tenant.id,
        "created_at": now,
        "updated_at": now,
        "discoverable": False,
        "archived": False,
    }
    bulk_insert(session, table, plan.creates, progress, 10, 80, common=stamp)
    bulk_update(session, table, tenant, plan.updates, common={"updated_at": now})
    if plan.extra.get("memberships"):
        memberships.write(session, tenant, plan, _created_ids(session, plan, now), now, progress)


def _created_ids(session, plan: ImportPlan, now) -> list[int]:
    """The ids of ``plan.creates``, in order: the rows this import stamped, found by
    registration id, name and city (no two created rows share all three)."""
    found = {
        (row.registration_id, row.name, row.city): row.id
        for row in session.execute(
            select(
                Organisation.id, Organisation.registration_id, Organisation.name, Organisation.city
            ).where(Organisation.created_at == now)
        )
    }
    return [found[(r["registration_id"], r["name"], r["city"])] for r in plan.creates]


class OrganisationIndex:
    """The tenant's organisations by registration id and by name (+ city), loaded once."""

    def __init__(self, session):
        rows = session.execute(
            select(
                Organisation.id, Organisation.registration_id, Organisation.name, Organisation.city
            ).where(Organisation.archived.is_(False))
        ).all()
        self.by_reg: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.names: dict[int, str] = {}
        for row in rows:
            reg = normalise_identifier(row.registration_id)
            if reg:
                self.by_reg[reg].append(row.id)
            self.by_name[normalise_name(row.name)].append((row.id, normalise_name(row.city)))
            self.names[row.id] = row.name

    def resolve(self, registration_id, name, city) -> tuple[int | None, str | None]:
        if registration_id:
            ids = self.by_reg.get(normalise_identifier(registration_id), [])
            if len(ids) == 1:
                return ids[0], None
            if len(ids) > 1:
                return None, _(
                    "%(num)s organisations have the registration id %(id)s.",
                    num=len(ids),
                    id=registration_id,
                )
            if not name:
                return None, _(
                    "No organisation with the registration id %(id)s in the directory "
                    "(import the organisations first).",
                    id=registration_id,
                )
        candidates = self.by_name.get(normalise_name(name), [])
        if city:
            candidates = [c for c in candidates if c[1] == normalise_name(city)]
        if len(candidates) == 1:
            return candidates[0][0], None
        if not candidates:
            if city:
                return None, _(
                    "No organisation named “%(name)s” in %(city)s in the directory "
                    "(import the organisations first).",
                    name=name,
                    city=city,
                )
            return None, _(
                "No organisation named “%(name)s” in the directory "
                "(import the organisations first).",
                name=name,
            )
        return None, _(
            "%(num)s organisations are named “%(name)s”: add the registration id "
            "or the city to say which.",
            num=len(candidates),
            name=name,
        )
