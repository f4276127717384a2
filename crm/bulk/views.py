"""The bulk bar's POST: check, then act in the request (a few hundred rows) or
start a job and show its progress. Staff only; CSRF like every form."""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from crm import formats
from crm.accounts.access import STAFF, roles_required
from crm.bulk import actions, bp, jobs, queries
from crm.bulk.forms import ACTIONS, BulkForm
from crm.exports import download
from crm.extensions import db
from crm.forms import optional_id
from crm.i18n import _
from crm.jobs import Unavailable, start_run
from crm.models import JobRun
from crm.models.membership import MEMBERSHIP_STATUSES
from crm.tags import services as tags
from crm.validation import RuleError

LISTS = {"members": "members.directory", "contacts": "contacts.index"}


def staff_only(view):
    return login_required(roles_required(*STAFF)(view))


def _ticked_ids() -> list[int]:
    ids = []
    for value in request.form.getlist("ids")[:1000]:  # a page holds at most 200
        try:
            if (number := optional_id(value)) is not None:
                ids.append(number)
        except ValueError:
            continue
    return ids


def _spec(form: BulkForm) -> dict | None:
    if form.all_matching.data:
        return {"filters": dict(parse_qsl(form.filters.data or ""))}
    ids = _ticked_ids()
    return {"ids": ids} if ids else None


def _check(form: BulkForm, source: str, spec: dict | None) -> None:
    """The action's own fields; raises RuleError beside the field concerned."""
    errors: dict[str, list[str]] = {}
    action = form.action.data
    if action not in ACTIONS or source not in ACTIONS[action][1]:
        errors["action"] = [_("Choose an action.")]
    if spec is None:
        errors[""] = [_("Tick the rows to act on, or “Select all matching”.")]
    if action in ("tag", "untag") and not (form.tag.data or "").strip():
        errors["tag"] = [_("Name the tag.")]
    if action == "status":
        if form.status.data not in MEMBERSHIP_STATUSES:
            errors["status"] = [_("Choose the new status.")]
        if not form.effective_on.data:
            errors["effective_on"] = [_("Enter the date the change takes effect.")]
        if not (form.reason.data or "").strip():
            errors["reason"] = [_("Say why the status changes.")]
    if errors:
        raise RuleError(errors)


def _params(form: BulkForm) -> dict:
    action = form.action.data
    if action == "tag":
        tag = tags.tag_named(db.session, g.tenant.id, form.tag.data)
        return {"tag_id": tag.id, "tag_name": tag.name}
    if action == "untag":
        tag = tags.find_tag(db.session, form.tag.data)
        if tag is None:
            raise RuleError(_("There is no tag of this name."), "tag")
        return {"tag_id": tag.id, "tag_name": tag.name}
    if action == "status":
        return {
            "status": form.status.data,
            "effective_on": form.effective_on.data.isoformat(),
            "reason": form.reason.data.strip(),
        }
    return {}


def _back(form: BulkForm, source: str):
    return redirect(url_for(LISTS[source], **dict(parse_qsl(form.filters.data or ""))))


def _refuse(form: BulkForm, source: str, error: RuleError):
    db.session.rollback()
    for name, messages in error.errors.items():
        if name and name in form:
            form[name].errors = [*form[name].errors, *messages]
        else:
            form.form_errors = [*getattr(form, "form_errors", []), *messages]
    labels = {k: label for k, (label, sources) in ACTIONS.items() if source in sources}
    return render_template("bulk/refused.html", form=form, source=source, labels=labels), 422


@bp.route("/<tenant>/bulk", methods=["POST"])
@staff_only
def apply():
    form = BulkForm()
    source = form.source.data if form.source.data in LISTS else "members"
    if not form.validate_on_submit():
        return _refuse(form, source, RuleError({}))
    spec = _spec(form)
    try:
        _check(form, source, spec)
        params = _params(form)
    except RuleError as error:
        return _refuse(form, source, error)
    selection = jobs.selection(g.tenant.id, source, spec)
    if form.action.data.startswith("export_"):
        return _export(form.action.data.removeprefix("export_"), source, spec, selection)
    total = db.session.scalar(select(func.count()).select_from(selection.subquery()))
    if total > current_app.config["BULK_INLINE_MAX_ROWS"]:
        try:
            run = start_run(
                jobs.KIND,
                jobs.run_bulk,
                g.tenant.id,
                current_user.id,
                source,
                form.action.data,
                params,
                spec,
                tenant_id=g.tenant.id,
                user_id=current_user.id,
                message=f"{ACTIONS[form.action.data][0]}: {total:,} rows, waiting to start",
            )
        except Unavailable as unavailable:
            flash(str(unavailable), "error")
            return _back(form, source)
        return redirect(url_for("bulk.show", run_id=run.id))
    ids = list(db.session.scalars(selection))
    result = actions.apply(
        db.session, g.tenant.id, current_user.id, source, form.action.data, params, ids
    )
    db.session.commit()
    flash(_outcome(result), "warning" if result["refused_count"] else "success")
    return _back(form, source)


def _outcome(result: dict) -> str:
    done = _(
        "Done: %(changed)s of %(total)s changed.",
        changed=formats.number(result["changed"]),
        total=formats.number(result["total"]),
    )
    if not result["refused_count"]:
        return done
    firsts = "; ".join(f"{r['name']}: {r['reason']}" for r in result["refused"][:5])
    refused = _(
        "%(count)s refused (%(firsts)s).",
        count=formats.number(result["refused_count"]),
        firsts=firsts,
    )
    return f"{done} {refused}"


def _export(fmt: str, source: str, spec: dict, selection):
    """Ticked rows: the file at once (a page holds at most 200). All matching: the
    list's own export of those filters (a CSV streams, a large XLSX is a job)."""
    if "ids" in spec:
        rows = queries.export_rows(source, selection)
        return download(
            fmt, f"{source}-selection-{g.tenant.slug}", queries.headers_of(source), rows
        )
    args = spec["filters"]
    endpoint = "members.export" if source == "members" else "contacts.export"
    return redirect(url_for(endpoint, fmt=fmt, **args))


def _run_or_404(run_id: int) -> JobRun:
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind != jobs.KIND or run.tenant_id != g.tenant.id:
        abort(404)
    return run


@bp.route("/<tenant>/bulk/<int:run_id>")
@staff_only
def show(run_id: int):
    return render_template("bulk/show.html", run=_run_or_404(run_id), lists=LISTS)


@bp.route("/<tenant>/bulk/<int:run_id>/status")
@staff_only
def status(run_id: int):
    run = _run_or_404(run_id)
    return jsonify(status=run.status, progress=run.progress, message=run.message)


@bp.app_context_processor
def bar():
    """``bulk_form(source, args, total)`` for the lists' bulk bar (staff pages)."""
    from crm.bulk.forms import bulk_form

    return {
        "bulk_form": bulk_form,
    }
