"""The audit log as people read it: each field by its label, each referenced
record by its name ("Cluster: — → Biocat Cluster", not ``cluster_id None →
113573``), countries and regions by name. Names are read in one query per
referenced table for the whole page, never per event."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from crm.choices import KINDS
from crm.extensions import db
from crm.i18n import _, _l
from crm.models import AuditEvent, Contact, Organisation, Project, Segment, Tag, User
from crm.regions import country_name, region_label

EMPTY = "—"

# Record types (audit_events.entity_type), as the log names them.
RECORD_TYPES = {
    "organisations": _l("Organisation"),
    "contacts": _l("Contact"),
    "projects": _l("Project"),
    "participations": _l("Project participation"),
    "association_memberships": _l("Membership"),
    "cluster_memberships": _l("Cluster membership"),
    "payments": _l("Payment"),
    "activities": _l("Activity"),
    "partner_profiles": _l("Partner profile"),
    "partner_requests": _l("Partner request"),
    "segments": _l("Segment"),
    "tags": _l("Tag"),
    "users": _l("User"),
    "tenants": _l("Association"),
    "mailings": _l("Mailing"),
}

# Audited fields, by label. A field not listed is shown by its name, made readable.
FIELD_LABELS = {
    "name": _l("Name"),
    "legal_name": _l("Legal name"),
    "kind": _l("Kind"),
    "country": _l("Country"),
    "nuts2": _l("Region"),
    "nuts_revision": _l("NUTS revision"),
    "street": _l("Street and number"),
    "postcode": _l("Postcode"),
    "city": _l("City"),
    "registration_id": _l("Registration number"),
    "vat_id": _l("VAT number"),
    "pic": _l("PIC"),
    "lei": _l("LEI"),
    "ror": _l("ROR id"),
    "website": _l("Website"),
    "nace": _l("NACE code"),
    "nace_revision": _l("NACE revision"),
    "employees": _l("Employees"),
    "turnover_eur": _l("Annual turnover (EUR)"),
    "balance_sheet_eur": _l("Balance-sheet total (EUR)"),
    "founded_year": _l("Founded"),
    "size_class": _l("Size class"),
    "is_startup": _l("Start-up"),
    "is_external": _l("External partner"),
    "discoverable": _l("Visible to the alliance"),
    "description": _l("Description"),
    "archived": _l("Archived"),
    "ecosystems": _l("Industrial ecosystems"),
    "status": _l("Status"),
    "joined_on": _l("Joined on"),
    "paid_until": _l("Paid until"),
    "fee_tier": _l("Fee tier"),
    "fee_amount": _l("Fee per period"),
    "fee_currency": _l("Fee currency"),
    "period_months": _l("Membership period (months)"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "role": _l("Role"),
    "acronym": _l("Acronym"),
    "title": _l("Title"),
    "total_budget": _l("Total budget (EUR)"),
    "eu_contribution": _l("EU contribution (EUR)"),
    "budget_share": _l("Budget share (EUR)"),
    "amount": _l("Amount"),
    "currency": _l("Currency"),
    "paid_on": _l("Paid on"),
    "method": _l("Method"),
    "reference": _l("Reference"),
    "language": _l("Language"),
    "active": _l("Active"),
    "version": _l("Version"),
}

# Fields that name another record -> (label, the table whose name is shown).
REFERENCES = {
    "cluster_id": (_l("Cluster"), "organisations"),
    "member_id": (_l("Member"), "organisations"),
    "organisation_id": (_l("Organisation"), "organisations"),
    "project_id": (_l("Project"), "projects"),
    "contact_id": (_l("Contact"), "contacts"),
    "segment_id": (_l("Segment"), "segments"),
    "tag_id": (_l("Tag"), "tags"),
    "user_id": (_l("User"), "users"),
    "author_id": (_l("Author"), "users"),
    "created_by_id": (_l("Created by"), "users"),
    "changed_by_id": (_l("Changed by"), "users"),
    "logged_by_id": (_l("Logged by"), "users"),
    "recorded_by_id": (_l("Recorded by"), "users"),
}
# Each table's display name (one SELECT of id and name per table and page).
NAMES = {
    "organisations": (Organisation, Organisation.name),
    "projects": (Project, Project.acronym),
    "contacts": (Contact, Contact.first_name + " " + Contact.last_name),
    "segments": (Segment, Segment.name),
    "tags": (Tag, Tag.name),
    "users": (User, User.email),
}
SKIPPED = {"tenant_id", "id"}


@dataclass
class Change:
    label: str
    before: str | None  # None: a created or deleted record's value, no "before"
    after: str


@dataclass
class Entry:
    event: AuditEvent
    record_type: str
    record: str
    by: str  # the author's e-mail
    changes: list[Change] = field(default_factory=list)


def field_label(name: str) -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    if name in REFERENCES:
        return str(REFERENCES[name][0])
    return name.removesuffix("_id").replace("_", " ").capitalize()


def _wanted(events) -> dict[str, set[int]]:
    """The ids each table must name: the events' records, their authors and
    referenced ids."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.user_id:
            wanted["users"].add(event.user_id)
        if event.entity_type in NAMES and event.entity_id:
            wanted[event.entity_type].add(event.entity_id)
        for name, value in (event.changes or {}).items():
            if name in REFERENCES:
                values = value if isinstance(value, list) else [value]
                table = REFERENCES[name][1]
                wanted[table].update(v for v in values if isinstance(v, int))
    return wanted


def _names(wanted: dict[str, set[int]]) -> dict[str, dict[int, str]]:
    """One query per table, scoped as every query is (another association's
    records stay unnamed)."""
    names = {}
    for table, ids in wanted.items():
        if not ids:
            continue
        model, label = NAMES[table]
        rows = db.session.execute(select(model.id, label).where(model.id.in_(ids)))
        names[table] = dict(rows.all())
    return names


def _shown(name: str, value, names: dict[str, dict[int, str]]) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if name in REFERENCES:
        table = REFERENCES[name][1]
        return names.get(table, {}).get(value) or f"#{value}"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if name == "country":
        return f"{country_name(value)} ({value})"
    if name == "nuts2":
        return region_label(value)
    if name == "kind":
        return str(KINDS.get(value, value))
    return str(value)


def entries(events) -> list[Entry]:
    """The page's events with labels and names (a bounded number of queries)."""
    events = list(events)
    names = _names(_wanted(events))
    out = []
    for event in events:
        type_label = RECORD_TYPES.get(event.entity_type or "")
        record_type = str(type_label) if type_label else (event.entity_type or "").replace("_", " ")
        record = ""
        if event.entity_id:
            record = names.get(event.entity_type, {}).get(event.entity_id) or f"#{event.entity_id}"
        by = names.get("users", {}).get(event.user_id, "") if event.user_id else ""
        entry = Entry(event, record_type, record, by)
        paired = event.action not in ("create", "delete")
        for name, value in (event.changes or {}).items():
            if name in SKIPPED:
                continue
            if paired and isinstance(value, list) and len(value) == 2:
                before, after = (_shown(name, v, names) for v in value)
                entry.changes.append(Change(field_label(name), before, after))
            else:
                entry.changes.append(Change(field_label(name), None, _shown(name, value, names)))
        out.append(entry)
    return out
