"""Importing contacts: each names its organisation (registration id, or name and
city) and is matched by its e-mail, else by its name at that organisation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from crm import validation
from crm.i18n import _
from crm.imports.organisations import OrganisationIndex
from crm.imports.plan import ImportPlan, Progress
from crm.imports.reading import normalise_name
from crm.imports.writing import CHUNK, bulk_insert, bulk_update
from crm.models import Contact, EmailConsent, Tenant
from crm.models.base import utcnow
from crm.models.contact import CONTACT_FIELDS
from crm.models.mail import PURPOSES

CONTACT_COLUMNS = ("organisation_id", *CONTACT_FIELDS)


def plan_contacts(session, tenant: Tenant, rows, plan: ImportPlan, tick) -> None:
    orgs = OrganisationIndex(session)
    existing = session.execute(
        select(Contact.id, *[getattr(Contact, c) for c in CONTACT_COLUMNS]).where(
            Contact.erased_at.is_(None)
        )
    ).all()
    by_email, by_person, primary_of = {}, {}, {}
    for row in existing:
        if row.email:
            by_email.setdefault(row.email.lower(), row)
        by_person.setdefault(_person_key(row.organisation_id, row.first_name, row.last_name), row)
        if row.is_primary:
            primary_of[row.organisation_id] = row.id
    seen: dict = {}
    primary_lines: dict[int, int] = {}
    demote: set[int] = set()
    # (index of a new contact in plan.creates, or the id of a known one, {purpose: granted})
    mail_answers: list[tuple[int | None, int | None, dict]] = []
    today = date.today()
    for i, (line, values, errors) in enumerate(rows):
        tick(i)
        label = f"{values.get('first_name') or ''} {values.get('last_name') or ''}".strip()
        email_error = validation.check_email(values.get("email"))
        if email_error:
            errors = [*errors, _("E-mail: %(error)s", error=email_error)]
        org_id = None
        if not errors:
            org_id, org_error = orgs.resolve(
                values.get("organisation_registration_id"),
                values.get("organisation_name"),
                values.get("organisation_city"),
            )
            if org_error:
                errors = [*errors, org_error]
        if errors:
            plan.reject(line, " ".join(errors), label)
            continue
        email = values.get("email")
        keys = [("email", email)] if email else []
        keys.append(("person", _person_key(org_id, values["first_name"], values["last_name"])))
        duplicate = next((seen[k] for k in keys if k in seen), None)
        if duplicate is not None:
            same_email = keys[0][0] == "email" and keys[0] in seen
            reason = (
                _("Duplicate of line %(line)s (same e-mail).", line=duplicate)
                if same_email
                else _("Duplicate of line %(line)s (same name).", line=duplicate)
            )
            plan.reject(line, reason, label)
            continue
        match = (by_email.get(email) if email else None) or by_person.get(keys[-1][1])
        if values.get("is_primary"):
            if org_id in primary_lines:
                plan.reject(
                    line,
                    _(
                        "Line %(line)s already names the primary contact of %(organisation)s "
                        "(one per organisation).",
                        line=primary_lines[org_id],
                        organisation=orgs.names.get(org_id) or _("this organisation"),
                    ),
                    label,
                )
                continue
            primary_lines[org_id] = line
            current = primary_of.get(org_id)
            if current is not None and (match is None or match.id != current):
                demote.add(current)
        for k in keys:
            seen[k] = line
        new = {k: v for k, v in values.items() if k in CONTACT_COLUMNS and v is not None}
        new["organisation_id"] = org_id
        said = {p: values[f"mail_{p}"] for p in PURPOSES if values.get(f"mail_{p}") is not None}
        if new.get("consent_given"):
            new.setdefault("consent_date", today)
            new.setdefault("consent_source", "import")
        if match is None:
            record = {c: None for c in CONTACT_COLUMNS} | {
                "is_primary": False,
                "consent_given": False,
            }
            plan.creates.append(record | new)
            if said:
                mail_answers.append((len(plan.creates) - 1, None, said))
            continue
        if said:
            mail_answers.append((None, match.id, said))
        before = {c: getattr(match, c) for c in CONTACT_COLUMNS}
        after = before | new
        if after == before:
            plan.unchanged += 1
        else:
            plan.updates.append({"b_id": match.id, **after})
    for record in plan.updates:
        if record["b_id"] in demote:
            record["is_primary"] = False
    plan.extra["demote"] = sorted(demote)
    plan.extra["mail_answers"] = mail_answers
    plan.extra.setdefault("report", {})["email_consents"] = sum(len(a[2]) for a in mail_answers)


def _person_key(org_id, first, last) -> tuple:
    return org_id, normalise_name(first), normalise_name(last)


def write_contacts(session, tenant: Tenant, plan: ImportPlan, progress: Progress) -> None:
    table = Contact.__table__
    now = utcnow()
    connection = session.connection()
    # Primary contacts handed to someone else step down first (unique index).
    demote = plan.extra.get("demote", [])
    if demote:
        connection.execute(
            update(table)
            .where(table.c.tenant_id == tenant.id, table.c.id.in_(demote))
            .values(is_primary=False, updated_at=now)
        )
    stamp = {"tenant_id": tenant.id, "created_at": now, "updated_at": now}
    bulk_update(session, table, tenant, plan.updates, common={"updated_at": now})
    bulk_insert(session, table, plan.creates, progress, 10, 90, common=stamp)
    _write_mail_answers(session, tenant, plan, now, progress)


def _write_mail_answers(session, tenant: Tenant, plan: ImportPlan, now, progress) -> None:
    """Each row's e-mail consent answers (source "import"), set-based: the new
    contacts' ids are read back by what was inserted (one query), the answers
    already held in one query per chunk, then one bulk insert and one bulk
    update. A blank cell leaves the answer as it is; an equal one keeps its date."""
    answers = plan.extra.get("mail_answers", [])
    if not answers:
        return
    created = {}
    if any(index is not None for index, _, _ in answers):
        query = select(Contact.id, *[getattr(Contact, c) for c in _IDENTITY]).where(
            Contact.created_at == now
        )
        created = {tuple(row[1:]): row[0] for row in session.execute(query)}
    wanted = {}  # (contact id, purpose) -> granted
    for index, contact_id, said in answers:
        if index is not None:
            contact_id = created[tuple(plan.creates[index][c] for c in _IDENTITY)]
        wanted.update({(contact_id, purpose): granted for purpose, granted in said.items()})
    held = {}
    ids = sorted({contact_id for contact_id, _ in wanted})
    for i in range(0, len(ids), CHUNK):
        query = select(
            EmailConsent.contact_id, EmailConsent.purpose, EmailConsent.id, EmailConsent.granted
        ).where(EmailConsent.contact_id.in_(ids[i : i + CHUNK]))
        held.update({(c, p): (row_id, g) for c, p, row_id, g in session.execute(query)})
    inserts = [
        {"contact_id": c, "purpose": p, "granted": g}
        for (c, p), g in wanted.items()
        if (c, p) not in held
    ]
    updates = [
        {"b_id": held[key][0], "granted": g}
        for key, g in wanted.items()
        if key in held and held[key][1] != g
    ]
    common = {"changed_at": now, "source": "import"}
    table = EmailConsent.__table__
    bulk_insert(
        session, table, inserts, progress, 90, 95, common={"tenant_id": tenant.id, **common}
    )
    bulk_update(session, table, tenant, updates, common=common)


# What identifies a contact just inserted (duplicates in one file are rejected).
_IDENTITY = ("organisation_id", "first_name", "last_name", "email")
