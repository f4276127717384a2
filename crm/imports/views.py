"""Views of the imports area: upload, column mapping, dry run, commit, progress."""

from __future__ import annotations

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select, update

from crm.exports import download
from crm.extensions import db
from crm.forms import render_form
from crm.imports import bp, flow, reading
from crm.imports.forms import EncodingForm, UploadForm, chosen_mapping, mapping_form
from crm.imports.jobs import run_import
from crm.imports.kinds import KINDS_BY_KEY, suggest_mapping
from crm.imports.reading import ImportFileError
from crm.jobs import enqueue
from crm.models import ImportBatch, JobRun
from crm.tenancy import roles_required

ROLES = ("tenant_admin", "secretariat")
# A batch's columns and encoding can change until it is being imported.
EDITABLE = ("uploaded", "checked", "failed")
REJECTED_SHOWN = 500


def get_batch_or_404(batch_id: int) -> ImportBatch:
    """The current tenant's batch ``batch_id`` (the tenant filter is automatic)."""
    batch = db.session.scalar(select(ImportBatch).where(ImportBatch.id == batch_id))
    if batch is None:
        abort(404)
    return batch


def _run_of(batch: ImportBatch) -> JobRun | None:
    if batch.job_run_id is None:
        return None
    return db.session.scalar(
        select(JobRun).where(JobRun.id == batch.job_run_id, JobRun.tenant_id == g.tenant.id)
    )


@bp.route("/<tenant>/imports", methods=["GET", "POST"])
@roles_required(*ROLES)
def index():
    form = UploadForm()
    code_page = reading.code_page(g.tenant.country)
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        try:
            table = reading.read_table(data, legacy=code_page)
        except ImportFileError as error:
            form.file.errors = [*form.file.errors, str(error)]
        else:
            kind = KINDS_BY_KEY[form.kind.data]
            batch = ImportBatch(
                tenant_id=g.tenant.id,
                kind=kind.key,
                filename=(upload.filename or "upload")[:255],
                file_format=table.file_format,
                content=data,
                encoding=table.encoding,
                delimiter=table.delimiter,
                headers=table.headers,
                mapping=suggest_mapping(kind, table.headers),
                row_count=table.row_count,
                status="uploaded",
                created_by_id=current_user.id,
            )
            db.session.add(batch)
            db.session.commit()
            return redirect(url_for("imports.mapping", batch_id=batch.id))
    batches = db.session.scalars(
        select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()).limit(20)
    ).all()
    return render_form("imports/index.html", form, batches=batches, code_page=code_page)


@bp.route("/<tenant>/imports/<int:batch_id>/mapping", methods=["GET", "POST"])
@roles_required(*ROLES)
def mapping(batch_id: int):
    batch = get_batch_or_404(batch_id)
    kind = KINDS_BY_KEY[batch.kind]
    if batch.status not in EDITABLE:
        flash(
            "This import is already under way or done; upload the file again to change it.", "error"
        )
        return redirect(url_for("imports.show", batch_id=batch.id))
    form = mapping_form(kind, batch.headers or [], batch.mapping or {})
    problems: list[str] = []
    if form.validate_on_submit():
        chosen = chosen_mapping(kind, form)
        problems = flow.mapping_errors(kind, chosen, batch.headers or [])
        if not problems:
            batch.mapping = chosen
            if batch.row_count > current_app.config["IMPORT_INLINE_MAX_ROWS"]:
                return _start_job(batch, "dry_run")
            try:
                flow.dry_run(db.session, batch, g.tenant)
            except ImportFileError as error:
                db.session.rollback()
                problems = [str(error)]
            else:
                db.session.commit()
                return redirect(url_for("imports.show", batch_id=batch.id))
    preview, samples = _preview(batch)
    status = 422 if (form.errors or problems) else 200
    return render_template(
        "imports/mapping.html",
        batch=batch,
        kind=kind,
        form=form,
        problems=problems,
        samples=samples,
        preview=preview,
        read_as=reading.describe(batch.file_format, batch.encoding, batch.delimiter),
        encoding_form=_encoding_form(batch),
    ), status


def _encoding_guessed(batch: ImportBatch) -> bool:
    """A text file read without a byte order mark, which would leave no doubt."""
    return batch.file_format == "csv" and batch.encoding in reading.CHOSEN_ENCODINGS


def _encoding_form(batch: ImportBatch) -> EncodingForm | None:
    return EncodingForm(encoding=batch.encoding) if _encoding_guessed(batch) else None


@bp.route("/<tenant>/imports/<int:batch_id>/encoding", methods=["POST"])
@roles_required(*ROLES)
def change_encoding(batch_id: int):
    """Read the file again in the encoding chosen; its columns are suggested afresh
    and any dry run is void (the rows may read differently)."""
    batch = get_batch_or_404(batch_id)
    form = EncodingForm()
    if batch.status not in EDITABLE or not _encoding_guessed(batch):
        flash("This file's encoding cannot be changed now.", "error")
        return redirect(url_for("imports.show", batch_id=batch.id))
    if not form.validate_on_submit():
        flash("Choose one of the listed encodings.", "error")
        return redirect(url_for("imports.mapping", batch_id=batch.id))
    try:
        table = reading.read_table(batch.content, encoding=form.encoding.data)
    except ImportFileError as error:
        flash(str(error), "error")
        return redirect(url_for("imports.mapping", batch_id=batch.id))
    batch.encoding, batch.delimiter = table.encoding, table.delimiter
    batch.headers, batch.row_count = table.headers, table.row_count
    batch.mapping = suggest_mapping(KINDS_BY_KEY[batch.kind], table.headers)
    batch.status, batch.report, batch.checked_at = "uploaded", None, None
    db.session.commit()
    flash(f"The file is now read as {table.encoding}: check the first rows below.", "info")
    return redirect(url_for("imports.mapping", batch_id=batch.id))


def _preview(batch: ImportBatch) -> tuple[list[list[str]], dict[str, list[str]]]:
    """The first rows as read (to see that the encoding and columns are right),
    and each column's first values (shown beside the field it is chosen for)."""
    try:
        table = reading.read_table(batch.content, max_rows=3, encoding=batch.encoding)
    except ImportFileError:
        return [], {}
    width = len(table.headers)
    padded = ((cells + [""] * width)[:width] for _line, cells in table.rows)
    rows = [[reading.cell_text(c) for c in cells] for cells in padded]
    samples = {header: [row[i] for row in rows] for i, header in enumerate(table.headers)}
    return rows, samples


@bp.route("/<tenant>/imports/<int:batch_id>")
@roles_required(*ROLES)
def show(batch_id: int):
    batch = get_batch_or_404(batch_id)
    report = batch.report or {}
    rejected = report.get("rejected", [])
    return render_template(
        "imports/batch.html",
        batch=batch,
        kind=KINDS_BY_KEY[batch.kind],
        run=_run_of(batch),
        report=report,
        rejected=rejected[:REJECTED_SHOWN],
        rejected_more=max(0, batch.rejected_count - REJECTED_SHOWN),
    )


@bp.route("/<tenant>/imports/<int:batch_id>/commit", methods=["POST"])
@roles_required(*ROLES)
def commit(batch_id: int):
    batch = get_batch_or_404(batch_id)
    if batch.status != "checked" or batch.rejected_count:
        flash(
            "Only a checked file with no rejected rows can be imported: fix the rejected rows "
            "and upload the file again. Nothing was imported."
            if batch.status == "checked"
            else "This import cannot be committed now (it is not checked, or it is done).",
            "error",
        )
        return redirect(url_for("imports.show", batch_id=batch.id)), 303
    # Claim the batch: a second click or a second tab cannot commit it twice.
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == "checked")
        .values(status="committing")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        flash("This import is already being committed.", "error")
        return redirect(url_for("imports.show", batch_id=batch.id)), 303
    if batch.row_count > current_app.config["IMPORT_INLINE_MAX_ROWS"]:
        return _start_job(batch, "commit")
    try:
        plan = flow.commit(db.session, batch, g.tenant, current_user.id)
    except flow.ImportRejected as rejected:
        db.session.commit()  # the new report only
        flash(str(rejected), "error")
    except ImportFileError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(
            f"Imported: {len(plan.creates):,} created, {len(plan.updates):,} updated, "
            f"{plan.unchanged:,} unchanged.",
            "success",
        )
    return redirect(url_for("imports.show", batch_id=batch.id)), 303


def _start_job(batch: ImportBatch, phase: str):
    """Hand a large file to the background worker (after the commit), then show its progress."""
    run = JobRun(
        kind=f"import_{phase}",
        tenant_id=g.tenant.id,
        status="queued",
        progress=0,
        message="waiting for the worker",
        requested_by_id=current_user.id,
    )
    db.session.add(run)
    db.session.flush()
    batch.job_run_id = run.id
    batch.status = "checking" if phase == "dry_run" else "committing"
    db.session.commit()
    batch_id, run_id = batch.id, run.id
    rq_id = enqueue(run_import, batch_id, g.tenant.id, phase, run_id, retries=0)
    if rq_id:
        db.session.execute(update(JobRun).where(JobRun.id == run_id).values(rq_job_id=rq_id))
        db.session.commit()
    return redirect(url_for("imports.show", batch_id=batch_id))


@bp.route("/<tenant>/imports/<int:batch_id>/status")
@roles_required(*ROLES)
def status(batch_id: int):
    """JSON for the progress bar: the batch's state and its background run's progress."""
    batch = get_batch_or_404(batch_id)
    run = _run_of(batch)
    busy = batch.status in ("checking", "committing")
    if busy:
        state = run.status if run is not None and run.status != "finished" else "running"
    else:
        state = "failed" if batch.status == "failed" else "finished"
    return jsonify(
        batch_id=batch.id,
        batch_status=batch.status,
        status=state,
        progress=(run.progress if run is not None else 0) if busy else 100,
        message=(run.message if run is not None and busy else None) or batch.error,
        rows=batch.row_count,
        created=batch.created_count,
        updated=batch.updated_count,
        unchanged=batch.unchanged_count,
        rejected=batch.rejected_count,
    )


@bp.route("/<tenant>/imports/<int:batch_id>/rejected.csv")
@roles_required(*ROLES)
def rejected_rows(batch_id: int):
    """Every rejected row with its line and reason, to fix the file in a spreadsheet."""
    batch = get_batch_or_404(batch_id)
    rows = (batch.report or {}).get("rejected", [])
    return download(
        "csv",
        f"import-{batch.id}-rejected",
        ["Line", "Row", "Reason"],
        ([r["line"], r.get("label", ""), r["reason"]] for r in rows),
    )
