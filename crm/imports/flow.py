"""The dry run and the commit of an import batch.

Both build the same ``ImportPlan`` from the stored file: every row is converted,
validated with the rules the forms use (``crm.validation``,
``crm.projects.rules``) and matched against what the tenant already holds,
loaded in a few set-based queries. The commit writes the plan with bulk
INSERTs and UPDATEs in the caller's transaction, and only when no row is
rejected: an import goes in whole or not at all. Functions flush, never
commit; the caller (view or job) owns the transaction.

Each kind's planner and writer live in ``organisations``, ``contacts`` and
``projects`` (projects and participations); ``plan`` holds the ``ImportPlan``,
``writing`` the bulk writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

from crm import audit
from crm.formats import number as format_number
from crm.i18n import _, _l, ngettext
from crm.imports import reading, staging
from crm.imports.kinds import KINDS_BY_KEY, MAX_AMOUNT, Field, Kind, match_choice
from crm.imports.plan import ImportPlan, Progress
from crm.imports.projects import programme_index
from crm.imports.reading import ImportFileError, Table, cell_text
from crm.models import ImportBatch, Tenant
from crm.models.base import utcnow
from crm.tenancy import sync_database_tenant

CENT = Decimal("0.01")


class ImportRejected(Exception):
    """The commit found rejected rows (the data changed since the dry run): nothing written."""


def _noop(_percent: int, _message: str) -> None:
    pass


# -- mapping ------------------------------------------------------------------


def mapping_errors(kind: Kind, mapping: dict[str, str], headers: list[str]) -> list[str]:
    """What is wrong with a column mapping (missing required columns, unknown headers)."""
    errors = []
    for key, header in mapping.items():
        if key not in kind.by_key:
            errors.append(_("Unknown field %(field)s.", field=repr(key)))
        elif header not in headers:
            errors.append(_('The file has no column "%(header)s".', header=header))
    used = [h for h in mapping.values() if h]
    for header in {h for h in used if used.count(h) > 1}:
        errors.append(
            _('The column "%(header)s" is chosen for more than one field.', header=header)
        )
    for f in kind.fields:
        if f.required and not mapping.get(f.key):
            errors.append(
                _(
                    "Required column missing: no column of the file is chosen for “%(field)s”.",
                    field=f.label,
                )
            )
    for group in kind.one_of:
        if not any(mapping.get(key) for key in group):
            labels = _either(f"“{kind.by_key[k].label}”" for k in group)
            errors.append(
                _("Required column missing: choose a column for %(fields)s.", fields=labels)
            )
    return errors


# -- reading rows ---------------------------------------------------------------


def _number_fields(kind: Kind) -> list[Field]:
    return [f for f in kind.fields if f.type in ("int", "decimal", "year")]


def file_decimal_mark(kind: Kind, table: Table, mapping: dict[str, str]) -> str:
    """The file's decimal mark, from every cell of its mapped number columns."""
    hint = "," if table.delimiter == ";" else "."
    values = []
    for f in _number_fields(kind):
        header = mapping.get(f.key)
        if header:
            values.extend(reading.iter_column(table.rows, table.headers.index(header)))
    return reading.detect_decimal_mark(values, hint)


_NOT_A = {
    "int": _l("“%(value)s” is not a whole number."),
    "year": _l("“%(value)s” is not a year."),
    "decimal": _l("“%(value)s” is not a number."),
    "date": _l("“%(value)s” is not a date (such as 2025-12-31 or 31/12/2025)."),
    "bool": _l("“%(value)s” is not yes or no."),
}


def _either(labels) -> str:
    """“A” or “B”: the fields of which one must be given."""
    return _(" or ").join(str(label) for label in labels)


def _cell_error(f: Field, message: str) -> str:
    """A cell's error, after its field's label: "Employees: “12,5” is not a whole number."."""
    return _("%(field)s: %(error)s", field=f.label, error=message)


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
                        return None, _cell_error(
                            f,
                            _(
                                "“%(value)s” is too large (at most %(most)s).",
                                value=_shown(raw),
                                most=format_number(MAX_AMOUNT),
                            ),
                        )
                return number, None
            if kind in ("int", "year"):
                number = reading.parse_decimal(raw, decimal_mark)
                if number != number.to_integral_value():
                    return None, _cell_error(f, str(_NOT_A["int"]) % {"value": _shown(raw)})
                return int(number), None
            if kind == "date":
                return reading.parse_date(raw), None
            return reading.parse_bool(raw), None
        except ValueError:
            return None, _cell_error(f, str(_NOT_A[kind]) % {"value": _shown(raw)})
    text = raw if isinstance(raw, str) else cell_text(raw)
    if kind == "choice":
        code = match_choice(text, f.choices or {})
        if code is None:
            return None, _cell_error(
                f,
                _(
                    "“%(value)s” is not one of: %(choices)s.",
                    value=_shown(raw),
                    choices=", ".join(f.choices or {}),
                ),
            )
        return code, None
    if kind == "programme":
        code = programmes.get(reading.fold(text))
        if code is None:
            return None, _cell_error(
                f,
                _(
                    "“%(value)s” is not a known programme code (such as HE, ERDF).",
                    value=_shown(raw),
                ),
            )
        return code, None
    if kind == "code":
        text = " ".join(text.split())
    elif kind == "email":
        text = text.lower()
    if f.max_length and len(text) > f.max_length:
        return None, _(
            "%(field)s is longer than %(most)s characters.", field=f.label, most=f.max_length
        )
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
                errors.append(_("%(field)s is empty.", field=f.label))
            values[f.key] = value
        for group in kind.one_of:
            mapped = [k for k in group if k in values]
            if mapped and all(values[k] is None for k in mapped):
                labels = _either(kind.by_key[k].label for k in group)
                errors.append(_("Give the %(fields)s.", fields=labels.lower()))
        yield line, values, errors


def _percent_steps(total: int, progress: Progress, start: int, end: int, message: str):
    """A function to call per row that reports progress every 5%."""
    step = max(1, total // 20)

    def tick(i: int) -> None:
        if i % step == 0:
            progress(start + (end - start) * i // max(1, total), message)

    return tick


# -- the two steps -----------------------------------------------------------------------


def build_plan(
    session, batch: ImportBatch, tenant: Tenant, progress: Progress = _noop
) -> ImportPlan:
    """Read the stored file and decide, row by row, what the import would do."""
    kind = KINDS_BY_KEY[batch.kind]
    progress(2, _("reading the file"))
    table = staging.table_of(batch)
    mapping = {k: v for k, v in (batch.mapping or {}).items() if v}
    problems = mapping_errors(kind, mapping, table.headers)
    if problems:
        raise ImportFileError(" ".join(problems))
    decimal_mark = file_decimal_mark(kind, table, mapping)
    plan = ImportPlan(
        kind=kind.key,
        rows=len(table.rows),
        decimal_mark=decimal_mark,
        labels={f.key: str(f.label) for f in kind.fields},
    )
    programmes = programme_index(session) if kind.key in ("projects", "participations") else {}
    rows = converted_rows(kind, table, mapping, decimal_mark, programmes)
    tick = _percent_steps(len(table.rows), progress, 5, 95, _("checking rows"))
    kind.planner(session, tenant, rows, plan, tick)
    return plan


def dry_run(session, batch: ImportBatch, tenant: Tenant, progress: Progress = _noop) -> ImportPlan:
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
) -> ImportPlan:
    """Write the batch in the caller's transaction, all rows or none.

    Raises ImportRejected (nothing written) when the check finds rejected rows;
    the caller stores the new report and commits only that.
    """
    plan = build_plan(session, batch, tenant, check_progress or progress)
    if plan.rejected:
        _store_report(batch, plan, "checked")
        raise ImportRejected(
            ngettext(
                "%(num)s row is now rejected (the data changed since the dry run). "
                "Nothing was imported.",
                "%(num)s rows are now rejected (the data changed since the dry run). "
                "Nothing was imported.",
                len(plan.rejected),
            )
        )
    plan.extra["user_id"] = user_id
    sync_database_tenant(session)
    KINDS_BY_KEY[batch.kind].writer(session, tenant, plan, progress)
    _store_report(batch, plan, "committed")
    batch.committed_at = utcnow()
    audit.record(
        session,
        "import",
        tenant_id=tenant.id,
        entity_type="import_batches",
        entity_id=batch.id,
        summary=(
            f"Imported {batch.kind} from {batch.filename[:120]}: "
            f"{len(plan.creates)} created, {len(plan.updates)} updated, "
            f"{plan.unchanged} unchanged"
        ),
        user_id=user_id,
    )
    session.flush()
    return plan


def _store_report(batch: ImportBatch, plan: ImportPlan, status: str) -> None:
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
