"""The dry run and the commit of an import batch.

Both build the same ``Plan`` from the stored file: every row is converted,
validated with the rules the forms use (``crm.validation``,
``crm.projects.rules``) and matched against what the tenant already holds,
loaded in a few set-based queries. The commit writes the plan with bulk
INSERTs and UPDATEs in the caller's transaction, and only when no row is
rejected: an import goes in whole or not at all. Functions flush, never
commit; the caller (view or job) owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import String, Text, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from crm import audit, validation
from crm.imports import reading
from crm.imports.kinds import KINDS_BY_KEY, MAX_AMOUNT, Field, Kind, match_choice
from crm.imports.reading import (
    ImportFileError,
    Table,
    cell_text,
    normalise_identifier,
    normalise_name,
)
from crm.models import (
    Contact,
    ImportBatch,
    Organisation,
    Participation,
    Programme,
    Project,
    ProjectStatusChange,
    Tenant,
)
from crm.models.base import utcnow
from crm.models.organisation import PROFILE_FIELDS, derive_size_class
from crm.models.project import normalise_grant_number
from crm.projects import rules
from crm.tenancy import sync_database_tenant

Progress = Callable[[int, str], None]
CHUNK = 5000
CENT = Decimal("0.01")
# Rejected rows kept in the stored report (the counts are always exact).
MAX_REPORTED = 100_000


class ImportRejected(Exception):
    """The commit found rejected rows (the data changed since the dry run): nothing written."""


@dataclass
class Plan:
    kind: str
    rows: int = 0
    creates: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)
    decimal_mark: str = "."
    extra: dict = field(default_factory=dict)

    def reject(self, line: int, reason: str, label: str = "") -> None:
        self.rejected.append({"line": line, "reason": reason, "label": label[:120]})

    def report(self) -> dict:
        rejected = sorted(self.rejected, key=lambda r: r["line"])
        return {
            "rows": self.rows,
            "created": len(self.creates),
            "updated": len(self.updates),
            "unchanged": self.unchanged,
            "rejected_count": len(rejected),
            "rejected": rejected[:MAX_REPORTED],
            "decimal_mark": self.decimal_mark,
        }


def _noop(_percent: int, _message: str) -> None:
    pass


# -- mapping ------------------------------------------------------------------


def mapping_errors(kind: Kind, mapping: dict[str, str], headers: list[str]) -> list[str]:
    """What is wrong with a column mapping (missing required columns, unknown headers)."""
    errors = []
    for key, header in mapping.items():
        if key not in kind.by_key:
            errors.append(f"Unknown field {key!r}.")
        elif header not in headers:
            errors.append(f'The file has no column "{header}".')
    used = [h for h in mapping.values() if h]
    for header in {h for h in used if used.count(h) > 1}:
        errors.append(f'The column "{header}" is chosen for more than one field.')
    for f in kind.fields:
        if f.required and not mapping.get(f.key):
            errors.append(
                f"Required column missing: no column of the file is chosen for “{f.label}”."
            )
    for group in kind.one_of:
        if not any(mapping.get(key) for key in group):
            labels = " or ".join(f"“{kind.by_key[k].label}”" for k in group)
            errors.append(f"Required column missing: choose a column for {labels}.")
    return errors


# -- reading rows ---------------------------------------------------------------


def _number_fields(kind: Kind) -> list[Field]:
    return [f for f in kind.fields if f.type in ("int", "decimal", "year")]


def detect_decimal_mark(kind: Kind, table: Table, mapping: dict[str, str]) -> str:
    hint = "," if table.delimiter == ";" else "."
    values = []
    for f in _number_fields(kind):
        header = mapping.get(f.key)
        if header:
            values.extend(reading.iter_column(table.rows, table.headers.index(header)))
    return reading.detect_decimal_mark(values, hint)


_NOT_A = {
    "int": "a whole number",
    "year": "a year",
    "decimal": "a number",
    "date": "a date (such as 2025-12-31 or 31/12/2025)",
    "bool": "yes or no",
}


def _shown(raw) -> str:
    text = cell_text(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def _convert(f: Field, raw, decimal_mark: str, programmes: dict[str, str]):
    """(value, error) for one cell; value None when blank.

    Called for every cell of the file: the usual case (a valid value) does no
    more than the conversion itself.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    kind = f.type
    if kind in _NOT_A:
        try:
            if kind == "decimal":
                number = reading.parse_decimal(raw, decimal_mark)
                if f.money:
                    # Rounded as the column stores it, so a re-import compares equal.
                    number = number.quantize(CENT, rounding=ROUND_HALF_UP)
                    if abs(number) > MAX_AMOUNT:
                        return None, (
                            f"{f.label}: “{_shown(raw)}” is too large (at most {MAX_AMOUNT:,})."
                        )
                return number, None
            if kind in ("int", "year"):
                number = reading.parse_decimal(raw, decimal_mark)
                if number != number.to_integral_value():
                    return None, f"{f.label}: “{_shown(raw)}” is not a whole number."
                return int(number), None
            if kind == "date":
                return reading.parse_date(raw), None
            return reading.parse_bool(raw), None
        except ValueError:
            return None, f"{f.label}: “{_shown(raw)}” is not {_NOT_A[kind]}."
    text = raw if isinstance(raw, str) else cell_text(raw)
    if kind == "choice":
        code = match_choice(text, f.choices or {})
        if code is None:
            return None, f"{f.label}: “{_shown(raw)}” is not one of: {', '.join(f.choices or {})}."
        return code, None
    if kind == "programme":
        code = programmes.get(reading.fold(text))
        if code is None:
            return None, (
                f"{f.label}: “{_shown(raw)}” is not a known programme code (such as HE, ERDF)."
            )
        return code, None
    if kind == "code":
        text = " ".join(text.split())
    elif kind == "email":
        text = text.lower()
    if f.max_length and len(text) > f.max_length:
        return None, f"{f.label} is longer than {f.max_length} characters."
    return text, None


def converted_rows(
    kind: Kind, table: Table, mapping: dict[str, str], decimal_mark: str, programmes: dict
) -> Iterator[tuple[int, dict, list[str]]]:
    """``(line, values, errors)`` per data row; values hold the mapped fields only."""
    columns = [(f, table.headers.index(mapping[f.key])) for f in kind.fields if mapping.get(f.key)]
    for line, cells in table.rows:
        values, errors = {}, []
        for f, index in columns:
            raw = cells[index] if index < len(cells) else None
            value, error = _convert(f, raw, decimal_mark, programmes)
            if error:
                errors.append(error)
            elif value is None and f.required:
                errors.append(f"{f.label} is empty.")
            values[f.key] = value
        for group in kind.one_of:
            mapped = [k for k in group if k in values]
            if mapped and all(values[k] is None for k in mapped):
                labels = " or ".join(kind.by_key[k].label for k in group)
                errors.append(f"Give the {labels.lower()}.")
        yield line, values, errors


def _percent_steps(total: int, progress: Progress, start: int, end: int, message: str):
    """A function to call per row that reports progress every 5%."""
    step = max(1, total // 20)

    def tick(i: int) -> None:
        if i % step == 0:
            progress(start + (end - start) * i // max(1, total), message)

    return tick


# -- organisations ----------------------------------------------------------------

_UPPER = ("country", "nuts2", "nace")
_BLANK_ORGANISATION = dict.fromkeys(PROFILE_FIELDS) | {"is_startup": False}


def _euros(value) -> int | None:
    if value is None:
        return None
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _org_keys(registration_id, name, city) -> tuple:
    return normalise_identifier(registration_id), (normalise_name(name), normalise_name(city))


def plan_organisations(session, tenant: Tenant, rows, plan: Plan, tick) -> None:
    columns = [getattr(Organisation, c) for c in PROFILE_FIELDS]
    existing = session.execute(select(Organisation.id, *columns).order_by(Organisation.id)).all()
    by_reg, by_name = {}, {}
    for row in existing:
        reg, name_city = _org_keys(row.registration_id, row.name, row.city)
        if reg:
            by_reg.setdefault(reg, row)
        by_name.setdefault(name_city, row)
    seen: dict = {}
    for i, (line, values, errors) in enumerate(rows):
        tick(i)
        label = values.get("name") or ""
        for key in _UPPER:
            if values.get(key):
                values[key] = validation.normalise_code(values[key])
        if values.get("vat_id"):
            values["vat_id"] = normalise_identifier(values["vat_id"])
        reg, name_city = _org_keys(values.get("registration_id"), label, values.get("city"))
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
            f"{_label(k)}: {message}"
            for k, message in validation.organisation_errors(checked).items()
        ]
        if errors:
            plan.reject(line, " ".join(errors), label)
            continue
        # In-file duplicates: the same registration id, or the same name and city
        # where one of the two rows has no registration id to tell them apart.
        earlier = seen.get(("reg", reg)) if reg else None
        what = "registration id"
        if earlier is None and name_city in seen:
            other_line, other_reg = seen[name_city]
            if not (reg and other_reg):
                earlier, what = other_line, "name and city"
        if earlier is not None:
            plan.reject(line, f"Duplicate of line {earlier} (same {what}).", label)
            continue
        if reg:
            seen[("reg", reg)] = line
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
            continue
        before = dict(zip(PROFILE_FIELDS, match[1:], strict=True))
        after = before | new
        after["size_class"] = _size_class(after)
        before["size_class"] = _size_class(before)
        if after == before:  # stored amounts are whole euros, read ones rounded to them
            plan.unchanged += 1
        else:
            plan.updates.append({"b_id": match.id, **after})


def _label(key: str) -> str:
    from crm.imports.kinds import ORGANISATIONS

    return ORGANISATIONS.by_key[key].label if key in ORGANISATIONS.by_key else key


def _size_class(values: dict) -> str | None:
    if values.get("kind") != "firm":
        return None
    return derive_size_class(
        values.get("employees"), values.get("turnover_eur"), values.get("balance_sheet_eur")
    )


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return a is not None and b is not None and Decimal(a) == Decimal(b)
        except (TypeError, ValueError):
            return False
    return a == b


def write_organisations(session, tenant: Tenant, plan: Plan, progress: Progress) -> None:
    table = Organisation.__table__
    now = utcnow()
    stamp = {
        "tenant_id": tenant.id,
        "created_at": now,
        "updated_at": now,
        "discoverable": False,
        "archived": False,
    }
    _bulk_insert(session, table, plan.creates, progress, 10, 80, common=stamp)
    _bulk_update(session, table, tenant, plan.updates, common={"updated_at": now})


# -- shared writers -------------------------------------------------------------------


def _bulk_insert(
    session,
    table,
    records: list[dict],
    progress: Progress,
    start=10,
    end=80,
    common: dict | None = None,
):
    """INSERT in chunks: on PostgreSQL one ``INSERT ... SELECT FROM unnest(arrays)`` per
    chunk (a column a parameter), elsewhere an executemany; no ORM, no statement per row.

    ``common`` holds the values every row shares (tenant, timestamps), added chunk by
    chunk so that a large import does not hold a second copy of every record.
    """
    if not records:
        return
    common = common or {}
    connection = session.connection()
    columns = list(common | records[0])
    arrays = connection.dialect.name == "postgresql"
    if arrays:
        rows = _unnest(table, columns)
        statement = insert(table).from_select(
            [table.c[c] for c in columns], select(*[rows.c[c] for c in columns])
        )
    for i in range(0, len(records), CHUNK):
        chunk = [common | r for r in records[i : i + CHUNK]]
        if arrays:
            connection.execute(statement, _column_arrays(columns, chunk))
        else:
            connection.execute(insert(table), chunk)
        progress(
            start + (end - start) * min(len(records), i + CHUNK) // len(records),
            f"writing {table.name}",
        )


def _bulk_update(
    session, table, tenant: Tenant, records: list[dict], common: dict | None = None
) -> None:
    """UPDATE the tenant's rows ``b_id`` in chunks: on PostgreSQL one
    ``UPDATE ... FROM unnest(arrays)`` per chunk, elsewhere an executemany.
    ``common``: values set on every row (as for ``_bulk_insert``)."""
    if not records:
        return
    common = common or {}
    connection = session.connection()
    columns = [k for k in common | records[0] if k != "b_id"]
    if connection.dialect.name == "postgresql":
        rows = _unnest(table, ["b_id", *columns])
        statement = (
            update(table)
            .where(table.c.tenant_id == tenant.id, table.c.id == rows.c.b_id)
            .values({table.c[c]: rows.c[c] for c in columns})
        )
        for i in range(0, len(records), CHUNK):
            chunk = [common | r for r in records[i : i + CHUNK]]
            connection.execute(statement, _column_arrays(["b_id", *columns], chunk))
        return
    statement = (
        update(table)
        .where(table.c.tenant_id == tenant.id, table.c.id == bindparam("b_id"))
        .values({c: bindparam(f"v_{c}") for c in columns})
    )
    for i in range(0, len(records), CHUNK):
        chunk = [common | r for r in records[i : i + CHUNK]]
        params = [{"b_id": r["b_id"], **{f"v_{c}": r[c] for c in columns}} for r in chunk]
        connection.execute(statement, params)


def _unnest(table, columns: list[str]):
    """``unnest(CAST(:a_x AS type[]), ...) AS v(x, ...)``: one array parameter a column,
    typed from the table (``b_id`` as the id). Text goes as TEXT: a cast to VARCHAR(n)
    would cut a longer value short in silence, where storing it in the column refuses it.
    """

    def element(column: str):
        kind = table.c["id" if column == "b_id" else column].type
        return Text() if isinstance(kind, String) else kind

    arrays = [cast(bindparam(f"a_{c}"), ARRAY(element(c))) for c in columns]
    return func.unnest(*arrays).table_valued(*columns).render_derived(name="v")


def _column_arrays(columns: list[str], records: list[dict]) -> dict[str, list]:
    return {f"a_{c}": [r[c] for r in records] for c in columns}


# -- references to organisations and projects ----------------------------------------


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
                return None, (
                    f"{len(ids)} organisations have the registration id {registration_id}."
                )
            if not name:
                return None, (
                    f"No organisation with the registration id {registration_id} in the "
                    "directory (import the organisations first)."
                )
        candidates = self.by_name.get(normalise_name(name), [])
        if city:
            candidates = [c for c in candidates if c[1] == normalise_name(city)]
        if len(candidates) == 1:
            return candidates[0][0], None
        if not candidates:
            return None, (
                f"No organisation named “{name}”"
                + (f" in {city}" if city else "")
                + " in the directory (import the organisations first)."
            )
        return None, (
            f"{len(candidates)} organisations are named “{name}”: add the registration id "
            "or the city to say which."
        )


# -- contacts --------------------------------------------------------------------------

CONTACT_COLUMNS = (
    "organisation_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "is_primary",
    "consent_given",
    "consent_date",
    "consent_source",
)


def plan_contacts(session, tenant: Tenant, rows, plan: Plan, tick) -> None:
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
    today = date.today()
    for i, (line, values, errors) in enumerate(rows):
        tick(i)
        label = f"{values.get('first_name') or ''} {values.get('last_name') or ''}".strip()
        email_error = validation.check_email(values.get("email"))
        if email_error:
            errors = [*errors, f"E-mail: {email_error}"]
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
            what = "e-mail" if keys[0][0] == "email" and keys[0] in seen else "name"
            plan.reject(line, f"Duplicate of line {duplicate} (same {what}).", label)
            continue
        match = (by_email.get(email) if email else None) or by_person.get(keys[-1][1])
        if values.get("is_primary"):
            if org_id in primary_lines:
                plan.reject(
                    line,
                    f"Line {primary_lines[org_id]} already names the primary contact of "
                    f"{orgs.names.get(org_id, 'this organisation')} (one per organisation).",
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
        if new.get("consent_given"):
            new.setdefault("consent_date", today)
            new.setdefault("consent_source", "import")
        if match is None:
            record = {c: None for c in CONTACT_COLUMNS} | {
                "is_primary": False,
                "consent_given": False,
            }
            plan.creates.append(record | new)
            continue
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


def _person_key(org_id, first, last) -> tuple:
    return org_id, normalise_name(first), normalise_name(last)


def write_contacts(session, tenant: Tenant, plan: Plan, progress: Progress) -> None:
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
    _bulk_update(session, table, tenant, plan.updates, common={"updated_at": now})
    _bulk_insert(session, table, plan.creates, progress, 10, 90, common=stamp)


# -- projects --------------------------------------------------------------------------

PROJECT_COLUMNS = (
    "programme_code",
    "acronym",
    "title",
    "grant_number",
    "grant_key",
    "call_id",
    "status",
    "start_date",
    "end_date",
    "total_budget",
    "eu_contribution",
    "description",
)


def programme_index(session) -> dict[str, str]:
    index = {}
    for code, name in session.execute(select(Programme.code, Programme.name)):
        index[reading.fold(name)] = code
    for code, _name in session.execute(select(Programme.code, Programme.name)):
        index[reading.fold(code)] = code  # codes win over names
    return index


def plan_projects(session, tenant: Tenant, rows, plan: Plan, tick) -> None:
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
            what = "grant number" if keys[0][0] == "grant" and keys[0] in seen else "acronym"
            plan.reject(line, f"Duplicate of line {duplicate} (same programme and {what}).", label)
            continue
        for k in keys:
            seen[k] = line
        if match is None:
            plan.creates.append(after)
            continue
        if all(_same(before[c], after[c]) for c in PROJECT_COLUMNS):
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


def write_projects(session, tenant: Tenant, plan: Plan, progress: Progress) -> None:
    table = Project.__table__
    now = utcnow()
    connection = session.connection()
    changes = list(plan.extra.get("status_changes", []))
    _bulk_update(session, table, tenant, plan.updates, common={"updated_at": now})
    stamp = {"tenant_id": tenant.id, "created_at": now, "updated_at": now}
    records = [stamp | r for r in plan.creates]
    for i in range(0, len(records), CHUNK):
        chunk = records[i : i + CHUNK]
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
    _bulk_insert(session, ProjectStatusChange.__table__, history, progress, 60, 90)


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
            found, what = (
                self.by_grant.get(normalise_grant_number(grant_number), []),
                (f"the grant number {grant_number}"),
            )
        else:
            found, what = (
                self.by_acronym.get(normalise_name(acronym), []),
                (f"the acronym “{acronym}”"),
            )
        if programme:
            found = [f for f in found if f[1] == programme]
        if len(found) == 1:
            return found[0][0], None
        if not found:
            return None, f"No project with {what} (import or create the project first)."
        return None, f"{len(found)} projects have {what}: add the programme to say which."


def plan_participations(session, tenant: Tenant, rows, plan: Plan, tick) -> None:
    orgs, projects = OrganisationIndex(session), ProjectIndex(session)
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
            org_id, error = orgs.resolve(
                values.get("organisation_registration_id"),
                values.get("organisation_name"),
                values.get("organisation_city"),
            )
            if error:
                errors.append(error)
        if errors:
            plan.reject(line, " ".join(errors), label)
            continue
        key = (project_id, org_id)
        if key in seen:
            plan.reject(
                line,
                f"Duplicate of line {seen[key]}: {orgs.names.get(org_id)} takes part in "
                f"{projects.acronyms.get(project_id)} at most once.",
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
        elif match.role == record["role"] and _same(match.budget_share, record["budget_share"]):
            plan.unchanged += 1
        else:
            plan.updates.append({"b_id": match.id, **record})


def write_participations(session, tenant: Tenant, plan: Plan, progress: Progress) -> None:
    now = utcnow()
    table = Participation.__table__
    _bulk_update(session, table, tenant, plan.updates)
    stamp = {"tenant_id": tenant.id, "logged_at": now, "logged_by_id": plan.extra.get("user_id")}
    _bulk_insert(session, table, plan.creates, progress, 10, 90, common=stamp)


PLANNERS = {
    "organisations": (plan_organisations, write_organisations),
    "contacts": (plan_contacts, write_contacts),
    "projects": (plan_projects, write_projects),
    "participations": (plan_participations, write_participations),
}


# -- the two steps -----------------------------------------------------------------------


def build_plan(session, batch: ImportBatch, tenant: Tenant, progress: Progress = _noop) -> Plan:
    """Read the stored file and decide, row by row, what the import would do."""
    kind = KINDS_BY_KEY[batch.kind]
    progress(2, "reading the file")
    table = reading.read_table(batch.content, encoding=batch.encoding)
    mapping = {k: v for k, v in (batch.mapping or {}).items() if v}
    problems = mapping_errors(kind, mapping, table.headers)
    if problems:
        raise ImportFileError(" ".join(problems))
    decimal_mark = detect_decimal_mark(kind, table, mapping)
    plan = Plan(kind=kind.key, rows=len(table.rows), decimal_mark=decimal_mark)
    programmes = programme_index(session) if kind.key in ("projects", "participations") else {}
    rows = converted_rows(kind, table, mapping, decimal_mark, programmes)
    tick = _percent_steps(len(table.rows), progress, 5, 95, "checking rows")
    PLANNERS[kind.key][0](session, tenant, rows, plan, tick)
    return plan


def dry_run(session, batch: ImportBatch, tenant: Tenant, progress: Progress = _noop) -> Plan:
    """Check the batch and store its report; writes nothing but the batch itself."""
    plan = build_plan(session, batch, tenant, progress)
    _store_report(batch, plan, "checked")
    session.flush()
    return plan


def commit(
    session,
    batch: ImportBatch,
    tenant: Tenant,
    user_id: int | None,
    progress: Progress = _noop,
    check_progress: Progress | None = None,
) -> Plan:
    """Write the batch in the caller's transaction, all rows or none.

    Raises ImportRejected (nothing written) when the check finds rejected rows;
    the caller stores the new report and commits only that.
    """
    plan = build_plan(session, batch, tenant, check_progress or progress)
    if plan.rejected:
        _store_report(batch, plan, "checked")
        raise ImportRejected(
            f"{len(plan.rejected)} row(s) are now rejected (the data changed since the dry "
            "run). Nothing was imported."
        )
    plan.extra["user_id"] = user_id
    sync_database_tenant(session)
    PLANNERS[batch.kind][1](session, tenant, plan, progress)
    _store_report(batch, plan, "committed")
    batch.committed_at = utcnow()
    audit.record(
        session,
        "import",
        tenant_id=tenant.id,
        entity_type="import_batches",
        entity_id=batch.id,
        summary=(
            f"Imported {batch.kind_label.lower()} from {batch.filename[:120]}: "
            f"{len(plan.creates)} created, {len(plan.updates)} updated, "
            f"{plan.unchanged} unchanged"
        ),
        user_id=user_id,
    )
    session.flush()
    return plan


def _store_report(batch: ImportBatch, plan: Plan, status: str) -> None:
    batch.report = plan.report()
    batch.decimal_mark = plan.decimal_mark
    batch.row_count = plan.rows
    batch.created_count = len(plan.creates)
    batch.updated_count = len(plan.updates)
    batch.unchanged_count = plan.unchanged
    batch.rejected_count = len(plan.rejected)
    batch.status = status
    batch.error = None
    batch.checked_at = utcnow()
