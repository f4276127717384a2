"""Importing projects (matched by programme and grant number, else by programme
and acronym) and their participations, checked with the consortium rules of
``crm.projects.rules``."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import insert, select

from crm.i18n import _
from crm.imports import reading, writing
from crm.imports.organisations import OrganisationIndex
from crm.imports.plan import ImportPlan, Progress, same
from crm.imports.reading import normalise_name
from crm.imports.writing import bulk_insert, bulk_update
from crm.models import (
    Organisation,
    Participation,
    Programme,
    Project,
    ProjectStatusChange,
    Tenant,
)
from crm.models.base import utcnow
from crm.models.project import PROJECT_FIELDS, normalise_grant_number
from crm.projects import rules
from crm.projects.partners import PartnerFields, name_key, normalise_pic, partner_errors

PROJECT_COLUMNS = (*PROJECT_FIELDS, "grant_number", "grant_key")


def programme_index(session) -> dict[str, str]:
    index = {}
    for code, name in session.execute(select(Programme.code, Programme.name)):
        index[reading.fold(name)] = code
    for code, _name in session.execute(select(Programme.code, Programme.name)):
        index[reading.fold(code)] = code  # codes win over names
    return index


def plan_projects(session, tenant: Tenant, rows, plan: ImportPlan, tick) -> None:
    existing = session.execute(
        select(Project.id, *[getattr(Project, c) for c in PROJECT_COLUMNS])
    ).all()
    by_grant, by_acronym = {}, {}
    for row in existing:
        if row.grant_key:
            by_grant.setdefault((row.programme_code, row.grant_key), row)
        by_acronym.setdefault((row.programme_code, normalise_name(row.acronym)), row)
    seen: dict = {}
    changes: list[dict] = []
    for i, (line, values, errors) in enumerate(rows):
        tick(i)
        label = values.get("acronym") or ""
        programme = values.get("programme_code")
        grant_key = normalise_grant_number(values.get("grant_number"))
        values["grant_key"] = grant_key
        keys = [("grant", programme, grant_key)] if grant_key else []
        keys.append(("acronym", programme, normalise_name(label)))
        match = (by_grant.get((programme, grant_key)) if grant_key else None) or by_acronym.get(
            (programme, normalise_name(label))
        )
        if match is not None and grant_key and match.grant_key and match.grant_key != grant_key:
            match = None  # same acronym, another grant: another project
        new = {k: v for k, v in values.items() if k in PROJECT_COLUMNS and v is not None}
        before = {c: getattr(match, c) for c in PROJECT_COLUMNS} if match else None
        after = (before or {c: None for c in PROJECT_COLUMNS}) | new
        if not errors:
            errors = rules.check_project(
                status=after["status"],
                start=after["start_date"],
                end=after["end_date"],
                total_budget=after["total_budget"],
                eu_contribution=after["eu_contribution"],
            )
        if errors:
            plan.reject(line, " ".join(errors), label)
            continue
        duplicate = next((seen[k] for k in keys if k in seen), None)
        if duplicate is not None:
            same_grant = keys[0][0] == "grant" and keys[0] in seen
            reason = (
                _("Duplicate of line %(line)s (same programme and grant number).", line=duplicate)
                if same_grant
                else _("Duplicate of line %(line)s (same programme and acronym).", line=duplicate)
            )
            plan.reject(line, reason, label)
            continue
        for k in keys:
            seen[k] = line
        if match is None:
            plan.creates.append(after)
            continue
        if all(same(before[c], after[c]) for c in PROJECT_COLUMNS):
            plan.unchanged += 1
            continue
        plan.updates.append({"b_id": match.id, **after})
        if before["status"] != after["status"]:
            changes.append(
                {
                    "project_id": match.id,
                    "from_status": before["status"],
                    "to_status": after["status"],
                }
            )
    plan.extra["status_changes"] = changes


def write_projects(session, tenant: Tenant, plan: ImportPlan, progress: Progress) -> None:
    table = Project.__table__
    now = utcnow()
    connection = session.connection()
    changes = list(plan.extra.get("status_changes", []))
    bulk_update(session, table, tenant, plan.updates, common={"updated_at": now})
    stamp = {"tenant_id": tenant.id, "created_at": now, "updated_at": now}
    records = [stamp | r for r in plan.creates]
    for i in range(0, len(records), writing.CHUNK):
        chunk = records[i : i + writing.CHUNK]
        ids = connection.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), chunk
        ).scalars()
        changes += [
            {"project_id": pid, "from_status": None, "to_status": r["status"]}
            for pid, r in zip(ids, chunk, strict=True)
        ]
    history = [
        c
        | {
            "tenant_id": tenant.id,
            "changed_on": now.date(),
            "changed_by_id": plan.extra.get("user_id"),
            "recorded_at": now,
        }
        for c in changes
    ]
    bulk_insert(session, ProjectStatusChange.__table__, history, progress, 60, 90)


# -- participations -------------------------------------------------------------------------


class ProjectIndex:
    def __init__(self, session):
        rows = session.execute(
            select(
                Project.id,
                Project.programme_code,
                Project.grant_key,
                Project.acronym,
                Project.total_budget,
            )
        ).all()
        self.by_grant, self.by_acronym = defaultdict(list), defaultdict(list)
        self.budget, self.acronyms = {}, {}
        for row in rows:
            if row.grant_key:
                self.by_grant[row.grant_key].append((row.id, row.programme_code))
            self.by_acronym[normalise_name(row.acronym)].append((row.id, row.programme_code))
            self.budget[row.id] = row.total_budget
            self.acronyms[row.id] = row.acronym

    def resolve(self, grant_number, acronym, programme) -> tuple[int | None, str | None]:
        if grant_number:
            found = self.by_grant.get(normalise_grant_number(grant_number), [])
        else:
            found = self.by_acronym.get(normalise_name(acronym), [])
        if programme:
            found = [f for f in found if f[1] == programme]
        if len(found) == 1:
            return found[0][0], None
        if grant_number and not found:
            return None, _(
                "No project with the grant number %(grant)s (import or create the project first).",
                grant=grant_number,
            )
        if not found:
            return None, _(
                "No project with the acronym “%(acronym)s” (import or create the project first).",
                acronym=acronym,
            )
        if grant_number:
            return None, _(
                "%(num)s projects have the grant number %(grant)s: add the programme to say which.",
                num=len(found),
                grant=grant_number,
            )
        return None, _(
            "%(num)s projects have the acronym “%(acronym)s”: add the programme to say which.",
            num=len(found),
            acronym=acronym,
        )


class PartnerIndex:
    """Organisations by PIC and external partners by (country, name key), loaded once,
    and the external partners the import will create (negative ids until written).

    The same rules as the participant picker (``crm.projects.partners``): a PIC
    finds its organisation; else the name key and country find an external
    partner; else a new one is planned, once however many rows name it.
    """

    def __init__(self, session):
        rows = session.execute(
            select(
                Organisation.id,
                Organisation.pic,
                Organisation.country,
                Organisation.name_key,
                Organisation.is_external,
            ).where(
                (Organisation.pic.is_not(None)) | (Organisation.is_external.is_(True)),
            )
        ).all()
        self.by_pic = {r.pic: r.id for r in rows if r.pic}
        self.by_key = {(r.country, r.name_key): r.id for r in rows if r.is_external and r.name_key}
        self.new: dict[int, dict] = {}

    def resolve(self, values: dict) -> tuple[int | None, list[str]]:
        """The organisation a row's PIC names, or (with a country) the external
        partner it describes, found or planned; (None, []) when the row says
        nothing of either."""
        pic = normalise_pic(values.get("participant_pic"))
        country = values.get("participant_country")
        if pic and pic in self.by_pic and not country:
            return self.by_pic[pic], []
        if not country:
            return None, []
        fields = PartnerFields(
            name=values.get("organisation_name") or "",
            country=country.upper(),
            kind=values.get("participant_kind") or "other",
            city=values.get("organisation_city"),
            pic=pic,
        )
        errors = partner_errors(fields)
        if errors:
            return None, [m for messages in errors.values() for m in messages]
        key = (fields.country, name_key(fields.name))
        found = (self.by_pic.get(pic) if pic else None) or (
            self.by_key.get(key) if key[1] else None
        )
        if found is None:
            found = -(len(self.new) + 1)
            self.new[found] = {
                "name": fields.name.strip(),
                "country": fields.country,
                "city": fields.city,
                "kind": fields.kind,
                "pic": pic,
                "name_key": key[1],
            }
            if pic:
                self.by_pic[pic] = found
            self.by_key[key] = found
        return found, []


def plan_participations(session, tenant: Tenant, rows, plan: ImportPlan, tick) -> None:
    orgs, projects = OrganisationIndex(session), ProjectIndex(session)
    partners = PartnerIndex(session)
    existing = session.execute(
        select(
            Participation.id,
            Participation.project_id,
            Participation.organisation_id,
            Participation.role,
            Participation.budget_share,
        )
    ).all()
    current = {(r.project_id, r.organisation_id): r for r in existing}
    seen: dict = {}
    accepted: list[tuple[int, str, dict, object]] = []  # line, label, record, match
    for i, (line, values, errors) in enumerate(rows):
        tick(i)
        label = " / ".join(
            str(v)
            for v in (
                values.get("project_grant_number") or values.get("project_acronym"),
                values.get("organisation_name") or values.get("organisation_registration_id"),
            )
            if v
        )
        share_error = rules.check_budget_share(values.get("budget_share"))
        errors = errors + share_error
        project_id = org_id = None
        if not errors:
            project_id, error = projects.resolve(
                values.get("project_grant_number"),
                values.get("project_acronym"),
                values.get("programme_code"),
            )
            if error:
                errors.append(error)
            org_id, refused = partners.resolve(values)
            errors += refused
            if org_id is None and not refused:
                org_id, error = orgs.resolve(
                    values.get("organisation_registration_id"),
                    values.get("organisation_name"),
                    values.get("organisation_city"),
                )
                if error:
                    errors.append(error)
            elif org_id is not None and org_id < 0:
                orgs.names[org_id] = partners.new[org_id]["name"]
        if errors:
            plan.reject(line, " ".join(errors), label)
            continue
        key = (project_id, org_id)
        if key in seen:
            plan.reject(
                line,
                _(
                    "Duplicate of line %(line)s: %(organisation)s takes part in %(project)s "
                    "at most once.",
                    line=seen[key],
                    organisation=orgs.names.get(org_id),
                    project=projects.acronyms.get(project_id),
                ),
                label,
            )
            continue
        seen[key] = line
        record = {"project_id": project_id, "organisation_id": org_id, "role": values["role"]}
        if "budget_share" in values and values["budget_share"] is not None:
            record["budget_share"] = values["budget_share"]
        match = current.get(key)
        if match is not None:
            record.setdefault("budget_share", match.budget_share)
        else:
            record.setdefault("budget_share", None)
        accepted.append((line, label, record, match))
    # The consortium rules, on each project's participants after the import.
    consortium = defaultdict(dict)
    for r in existing:
        consortium[r.project_id][r.organisation_id] = (r.organisation_id, r.role, r.budget_share)
    for _line, _label, record, _match in accepted:
        consortium[record["project_id"]][record["organisation_id"]] = (
            record["organisation_id"],
            record["role"],
            record["budget_share"],
        )
    broken = {}
    for project_id in {rec["project_id"] for _l, _lb, rec, _m in accepted}:
        errors = rules.check_consortium(
            projects.budget.get(project_id), list(consortium[project_id].values()), orgs.names
        )
        if errors:
            broken[project_id] = f"{projects.acronyms.get(project_id)}: " + " ".join(errors)
    for line, label, record, match in accepted:
        if record["project_id"] in broken:
            plan.reject(line, broken[record["project_id"]], label)
        elif match is None:
            plan.creates.append(record)
        elif match.role == record["role"] and same(match.budget_share, record["budget_share"]):
            plan.unchanged += 1
        else:
            plan.updates.append({"b_id": match.id, **record})
    used = {r["organisation_id"] for r in plan.creates if r["organisation_id"] < 0}
    plan.extra["partners"] = {i: p for i, p in partners.new.items() if i in used}
    plan.extra["report"] = {"external_partners": len(plan.extra["partners"])}


def write_partners(session, tenant: Tenant, plan: ImportPlan) -> dict[int, int]:
    """Insert the external partners the plan creates: planned id -> new id."""
    planned = plan.extra.get("partners") or {}
    if not planned:
        return {}
    now = utcnow()
    stamp = {
        "tenant_id": tenant.id,
        "is_external": True,
        "archived": False,
        "discoverable": False,
        "is_startup": False,
        "created_at": now,
        "updated_at": now,
    }
    table = Organisation.__table__
    keys = list(planned)
    ids = (
        session.connection()
        .execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [stamp | planned[k] for k in keys],
        )
        .scalars()
    )
    return dict(zip(keys, ids, strict=True))


def write_participations(session, tenant: Tenant, plan: ImportPlan, progress: Progress) -> None:
    now = utcnow()
    new_ids = write_partners(session, tenant, plan)
    for record in plan.creates:
        if record["organisation_id"] < 0:
            record["organisation_id"] = new_ids[record["organisation_id"]]
    table = Participation.__table__
    bulk_update(session, table, tenant, plan.updates)
    stamp = {"tenant_id": tenant.id, "logged_at": now, "logged_by_id": plan.extra.get("user_id")}
    bulk_insert(session, table, plan.creates, progress, 10, 90, common=stamp)
