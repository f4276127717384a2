"""The background export: which exports may run as a job, starting one, and the
job that builds the file (its rows read again from the request's filters)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import xlsxwriter
from flask import current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict

from crm.exports import XLSX_OPTIONS, download, xlsx_cell
from crm.extensions import db
from crm.i18n import LANGUAGES, _l, force_locale, tenant_language
from crm.jobs import Unavailable, job_context, run_progress, start_run
from crm.models import ExportFile, JobRun, Tenant, User
from crm.models.base import utcnow
from crm.tenancy import current_tenant_id, tenant_scope

KIND = "export.xlsx"
# Progress is written every this many rows (each write is a short transaction).
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class Export:
    """An export a job can build: its headers, and its row count and rows for
    the filters of the list page (its query arguments)."""

    label: str  # lazy: in the language of who reads it
    headers: Callable[[], list[str]]
    count_and_rows: Callable[[MultiDict], tuple[int, Iterable]]
    back: str  # the list page's endpoint


def _members(args: MultiDict) -> tuple[int, Iterable]:
    from crm.members import queries

    filters = queries.DirectoryFilters.from_args(args)
    return queries.directory_count(filters), queries.directory_export_rows(filters)


def _members_headers() -> list[str]:
    from crm.exports import headers
    from crm.members import queries

    return headers(queries.EXPORT)


def _projects(args: MultiDict) -> tuple[int, Iterable]:
    from crm.projects import queries
    from crm.projects.forms import list_filters

    query = queries.projects(list_filters(args)[1])
    return queries.count(query), queries.export_rows(query)


def _projects_headers() -> list[str]:
    from crm.exports import headers
    from crm.projects import queries

    return headers(queries.EXPORT)


def _contacts(args: MultiDict) -> tuple[int, Iterable]:
    from crm.contacts import queries

    filters = queries.ContactFilters.from_args(args)
    return queries.count(filters), queries.export_rows(filters)


def _contacts_headers() -> list[str]:
    from crm.contacts import queries
    from crm.exports import headers

    return headers(queries.EXPORT)


def _renewals(args: MultiDict) -> tuple[int, Iterable]:
    from crm.renewals import queries

    selection, today = queries.Selection.from_args(args), date.today()
    tenant_id = current_tenant_id()
    return (
        queries.export_count(tenant_id, selection, today),
        queries.export_rows(tenant_id, selection, today),
    )


def _renewals_headers() -> list[str]:
    from crm.renewals import queries

    return queries.export_header_row()


def _payments(args: MultiDict) -> tuple[int, Iterable]:
    from crm.renewals import queries

    filters = queries.PaymentFilter.from_args(args)
    return queries.payment_count(filters), queries.payment_export_rows(filters)


def _payments_headers() -> list[str]:
    from crm.exports import headers
    from crm.renewals import queries

    return headers(queries.PAYMENT_EXPORT)


EXPORTS = {
    "members": Export(_l("Members directory"), _members_headers, _members, "members.directory"),
    "projects": Export(_l("Projects"), _projects_headers, _projects, "projects.index"),
    "contacts": Export(_l("Contacts"), _contacts_headers, _contacts, "contacts.index"),
    "renewals": Export(_l("Renewals"), _renewals_headers, _renewals, "renewals.index"),
    "payments": Export(_l("Payments"), _payments_headers, _payments, "renewals.index"),
}


def export_response(kind: str, fmt: str, filename: str, count: Callable[[], int], rows, args=None):
    """The answer to an export request of the current list: the file, or, for an
    XLSX too large to build within a request, a background job and its page.
    ``args``: the list's filters for the job, when the query string does not
    hold them all (an id in the path); the request's arguments otherwise."""
    if fmt == "xlsx" and count() > current_app.config["EXPORT_XLSX_INLINE_MAX_ROWS"]:
        try:
            run = start_export(
                kind,
                filename,
                request.args if args is None else args,
                tenant_id=g.tenant.id,
                user_id=current_user.id,
            )
        except Unavailable as unavailable:  # no queue: say so on the list, nothing started
            flash(str(unavailable), "error")
            return redirect(url_for(EXPORTS[kind].back, **request.args.to_dict()))
        return redirect(url_for("downloads.show", run_id=run.id))
    return download(fmt, filename, EXPORTS[kind].headers(), rows)


def start_export(kind: str, filename: str, args: MultiDict, *, tenant_id: int, user_id: int):
    """Start building ``kind``'s XLSX for the list filtered by ``args``; the run
    (its page shows the progress, then the link)."""
    return start_run(
        KIND,
        build_xlsx,
        kind,
        args.to_dict(flat=False),
        filename,
        user_id,
        tenant_id=tenant_id,
        user_id=user_id,
        message=f"{EXPORTS[kind].label}: waiting to start",
    )


def build_xlsx(kind: str, args: dict, filename: str, user_id: int | None, run_id: int) -> dict:
    """The job: write the workbook row by row (xlsxwriter's constant memory),
    with progress, and keep the file until it expires. Run twice (a retry), it
    replaces its file: the export only reads."""
    export = EXPORTS[kind]
    total, rows = export.count_and_rows(MultiDict(args))
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, XLSX_OPTIONS)
    with force_locale(_language_of(user_id)):
        sheet = workbook.add_worksheet(str(export.label)[:31])
        sheet.write_row(0, 0, [str(header) for header in export.headers()])
    written = 0
    for written, row in enumerate(rows, start=1):
        sheet.write_row(written, 0, [xlsx_cell(value) for value in row])
        if written % PROGRESS_EVERY == 0:
            percent = 95 * written // max(total, written)
            run_progress(run_id, percent, f"{written:,} of {max(total, written):,} rows")
    workbook.close()
    tenant_id = current_tenant_id()
    now = utcnow()
    db.session.execute(
        delete(ExportFile)
        .where((ExportFile.run_id == run_id) | (ExportFile.expires_at < now))
        .execution_options(synchronize_session=False)
    )
    hours = current_app.config["EXPORT_FILE_HOURS"]
    export_file = ExportFile(
        tenant_id=tenant_id,
        run_id=run_id,
        kind=kind,
        filename=f"{filename}.xlsx",
        rows=written,
        content=buffer.getvalue(),
        requested_by_id=user_id,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(export_file)
    db.session.commit()
    return {"kind": kind, "rows": written, "file_id": export_file.id}


def _language_of(user_id: int | None) -> str:
    """The language of who asked for the file: theirs, else their association's."""
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is not None and user.language in LANGUAGES:
        return user.language
    return tenant_language(db.session.get(Tenant, current_tenant_id()))


def run_of(run_id: int, tenant_id: int) -> JobRun | None:
    """The tenant's export run ``run_id`` (runs are not scoped automatically)."""
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind != KIND or run.tenant_id != tenant_id:
        return None
    return run


def delete_expired(now=None) -> int:
    """Delete the current association's export files whose link has expired (the
    link already answers 410; the runs stay, with their counts). How many."""
    result = db.session.execute(
        delete(ExportFile)
        .where(ExportFile.expires_at < (now or utcnow()))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def purge_expired_exports() -> int:
    """Delete every association's expired export files, each association in its own
    scope and transaction (row-level security holds). The nightly schedule
    (``crm.metrics.schedule``) runs it; so does ``flask crm purge-exports``."""
    deleted = 0
    with job_context():
        for tenant_id in db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all():
            with tenant_scope(tenant_id):
                deleted += delete_expired()
                db.session.commit()
    return deleted
