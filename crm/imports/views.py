"""Views of the imports area: upload, column mapping, dry run, commit, progress."""

from __future__ import annotations

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from crm.accounts.access import STAFF, roles_required
from crm.exports import download
from crm.extensions import db
from crm.formats import number
from crm.forms import render_form
from crm.i18n import _
from crm.imports import batches, bp, flow, reading
from crm.imports.forms import EncodingForm, UploadForm, chosen_mapping, mapping_form
from crm.imports.jobs import run_import
from crm.imports.kinds import KINDS_BY_KEY
from crm.imports.reading import ImportFileError
from crm.jobs import Unavailable, start_run
from crm.models import ImportBatch

REJECTED_SHOWN = 500


def get_batch_or_404(batch_id: int) -> ImportBatch:
    """The current tenant's batch ``batch_id`` (the tenant filter is automatic)."""
    batch = db.session.scalar(select(ImportBatch).where(ImportBatch.id == batch_id))
    if batch is None:
        abort(404)
    return batch


@bp.route("/<tenant>/imports", methods=["GET", "POST"])
@roles_required(*STAFF)
def index():
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            batch = batches.upload(
                g.tenant, current_user.id, form.kind.data, upload.filename, upload.read()
            )
        except ImportFileError as error:
            db.session.rollback()
            form.file.errors = [*form.file.errors, str(error)]
        else:
            db.session.commit()
            return redirect(url_for("imports.mapping", batch_id=batch.id))
    recent = db.session.scalars(
        select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()).limit(20)
    ).all()
    return render_form(
        "imports/index.html",
        form,
        batches=recent,
        kinds=KINDS_BY_KEY,
        status_labels=batches.STATUS_LABELS,
        used=batches.stored_bytes(),
        quota=current_app.config["IMPORT_QUOTA_BYTES"],
        retention_days=current_app.config["IMPORT_RETENTION_DAYS"],
        code_page=reading.code_page(g.tenant.country),
    )


@bp.route("/<tenant>/imports/<int:batch_id>/mapping", methods=["GET", "POST"])
@roles_required(*STAFF)
def mapping(batch_id: int):
    batch = get_batch_or_404(batch_id)
    kind = KINDS_BY_KEY[batch.kind]
    if batch.status not in batches.EDITABLE:
        flash(
            _("This import is already under way or done; upload the file again to change it."),
            "error",
        )
        return redirect(url_for("imports.show", batch_id=batch.id))
    form = mapping_form(kind, batch.headers or [], batch.mapping or {})
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            plan = batches.choose_mapping(batch, g.tenant, chosen_mapping(kind, form))
        except batches.MappingRefused as refused:
            db.session.rollback()
            problems = refused.problems
        except ImportFileError as error:
            db.session.rollback()
            problems = [str(error)]
        else:
            if plan is None:
                return _start_job(batch, "dry_run")
            db.session.commit()
            return redirect(url_for("imports.show", batch_id=batch.id))
    preview, samples = batches.preview(batch)
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
        encoding_form=(
            EncodingForm(encoding=batch.encoding) if batches.encoding_guessed(batch) else None
        ),
    ), status


@bp.route("/<tenant>/imports/<int:batch_id>/encoding", methods=["POST"])
@roles_required(*STAFF)
def change_encoding(batch_id: int):
    """Read the file again in the encoding chosen (``batches.read_as``)."""
    batch = get_batch_or_404(batch_id)
    form = EncodingForm()
    if batch.status not in batches.EDITABLE or not batches.encoding_guessed(batch):
        flash(_("This file's encoding cannot be changed now."), "error")
        return redirect(url_for("imports.show", batch_id=batch.id))
    if not form.validate_on_submit():
        flash(_("Choose one of the listed encodings."), "error")
        return redirect(url_for("imports.mapping", batch_id=batch.id))
    try:
        table = batches.read_as(batch, form.encoding.data)
    except ImportFileError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(
            _(
                "The file is now read as %(encoding)s: check the first rows below.",
                encoding=table.encoding,
            ),
            "info",
        )
    return redirect(url_for("imports.mapping", batch_id=batch_id))


@bp.route("/<tenant>/imports/<int:batch_id>")
@roles_required(*STAFF)
def show(batch_id: int):
    batch = _recovered(get_batch_or_404(batch_id))
    report = batch.report or {}
    rejected = report.get("rejected", [])
    return render_template(
        "imports/batch.html",
        batch=batch,
        kind=KINDS_BY_KEY[batch.kind],
        run=batches.run_of(batch),
        status_labels=batches.STATUS_LABELS,
        report=report,
        rejected=rejected[:REJECTED_SHOWN],
        rejected_more=max(0, batch.rejected_count - REJECTED_SHOWN),
        retention_days=current_app.config["IMPORT_RETENTION_DAYS"],
    )


@bp.route("/<tenant>/imports/<int:batch_id>/delete-file", methods=["POST"])
@roles_required(*STAFF)
def delete_file(batch_id: int):
    """Delete the batch's stored file (its counts and report stay), to free quota."""
    batch = get_batch_or_404(batch_id)
    if batches.delete_file(batch):
        db.session.commit()
        flash(_("The file is deleted; the import's counts stay."), "success")
    else:
        db.session.rollback()
        flash(
            _("This file cannot be deleted now (it is being imported, or already deleted)."),
            "error",
        )
    return redirect(url_for("imports.show", batch_id=batch_id)), 303


@bp.route("/<tenant>/imports/<int:batch_id>/commit", methods=["POST"])
@roles_required(*STAFF)
def commit(batch_id: int):
    batch = get_batch_or_404(batch_id)
    if batch.status != "checked" or batch.rejected_count:
        flash(
            _(
                "Only a checked file with no rejected rows can be imported: fix the rejected "
                "rows and upload the file again. Nothing was imported."
            )
            if batch.status == "checked"
            else _("This import cannot be committed now (it is not checked, or it is done)."),
            "error",
        )
        return redirect(url_for("imports.show", batch_id=batch.id)), 303
    if not batches.claim_for_commit(batch):
        db.session.rollback()
        flash(_("This import is already being committed."), "error")
        return redirect(url_for("imports.show", batch_id=batch.id)), 303
    if batches.in_background(batch):
        return _start_job(batch, "commit")
    try:
        plan = batches.commit(batch, g.tenant, current_user.id)
    except flow.ImportRejected as rejected:
        db.session.commit()  # the new report only
        flash(str(rejected), "error")
    except ImportFileError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(
            _(
                "Imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.",
                created=number(len(plan.creates)),
                updated=number(len(plan.updates)),
                unchanged=number(plan.unchanged),
            ),
            "success",
        )
    return redirect(url_for("imports.show", batch_id=batch.id)), 303


def _start_job(batch: ImportBatch, phase: str):
    """Hand a large file to the background worker, then show its progress. The run
    and the batch's link to it are committed before the job is enqueued; when the
    queue does not take it, the batch is put back where it can be started again."""
    batch_id = batch.id
    batches.begin_phase(batch, phase)
    busy = batch.status
    try:
        start_run(
            f"import.{phase}",
            run_import,
            batch_id,
            g.tenant.id,
            phase,
            tenant_id=g.tenant.id,
            user_id=current_user.id,
            message=_("waiting for the worker"),
            on_created=lambda run: setattr(batch, "job_run_id", run.id),
        )
    except Unavailable as unavailable:
        batches.put_back(batch, busy)
        db.session.commit()
        flash(
            _("%(reason)s Your file is kept: no need to upload it again.", reason=unavailable),
            "error",
        )
    return redirect(url_for("imports.show", batch_id=batch_id))


@bp.route("/<tenant>/imports/<int:batch_id>/status")
@roles_required(*STAFF)
def status(batch_id: int):
    """JSON for the progress bar."""
    return jsonify(batches.progress(_recovered(get_batch_or_404(batch_id))))


def _recovered(batch: ImportBatch) -> ImportBatch:
    """The batch, put back (and said so) if its background run died (``batches.recover``)."""
    message = batches.recover(batch)
    if message is not None:
        db.session.commit()
        flash(message, "error")
    return batch


@bp.route("/<tenant>/imports/<int:batch_id>/rejected.csv")
@roles_required(*STAFF)
def rejected_rows(batch_id: int):
    """Every rejected row with its line and reason, to fix the file in a spreadsheet."""
    batch = get_batch_or_404(batch_id)
    rows = (batch.report or {}).get("rejected", [])
    return download(
        "csv",
        f"import-{batch.id}-rejected",
        [_("Line"), _("Row"), _("Reason")],
        ([r["line"], r.get("label", ""), r["reason"]] for r in rows),
    )
