"""The export's page (progress, then the link), its status for the progress bar,
and the file behind a signed link that expires."""

from __future__ import annotations

from flask import Response, abort, current_app, g, jsonify, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from crm.accounts.access import STAFF, roles_required
from crm.downloads import bp
from crm.downloads.exports import EXPORTS, run_of
from crm.exports import XLSX_MIMETYPE
from crm.extensions import db
from crm.i18n import _
from crm.models import ExportFile
from crm.models.base import utcnow


def _links() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="crm.export-link")


def _run_or_404(run_id: int):
    run = run_of(run_id, g.tenant.id)
    if run is None:
        abort(404)
    return run


def _live_file_of(run_id: int) -> ExportFile | None:
    """The run's file while it is kept (compared in SQL: SQLite returns naive times)."""
    return db.session.scalar(
        select(ExportFile).where(ExportFile.run_id == run_id, ExportFile.expires_at > utcnow())
    )


@bp.route("/<tenant>/exports/<int:run_id>")
@roles_required(*STAFF)
def show(run_id: int):
    run = _run_or_404(run_id)
    export_file = _live_file_of(run.id) if run.status == "finished" else None
    link = None
    if export_file is not None:
        token = _links().dumps([run.id, current_user.id])
        link = url_for("downloads.file", run_id=run.id, token=token)
    kind = (run.result or {}).get("kind") or "members"
    return render_template(
        "downloads/show.html",
        run=run,
        export_file=export_file,
        link=link,
        link_minutes=current_app.config["EXPORT_LINK_SECONDS"] // 60,
        back=EXPORTS[kind].back if kind in EXPORTS else "members.directory",
    )


@bp.route("/<tenant>/exports/<int:run_id>/status")
@roles_required(*STAFF)
def status(run_id: int):
    run = _run_or_404(run_id)
    return jsonify(status=run.status, progress=run.progress, message=run.message)


@bp.route("/<tenant>/exports/<int:run_id>/file")
@roles_required(*STAFF)
def file(run_id: int):
    """Only through the link the page made for this user, while it is valid."""
    run = _run_or_404(run_id)
    try:
        linked_run, user_id = _links().loads(
            request.args.get("token", ""), max_age=current_app.config["EXPORT_LINK_SECONDS"]
        )
    except SignatureExpired:
        return _gone(run.id)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    if linked_run != run.id or user_id != current_user.id:
        abort(404)
    export_file = _live_file_of(run.id)
    if export_file is None:
        return _gone(run.id)
    return Response(
        export_file.content,
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{export_file.filename}"'},
    )


def _gone(run_id: int):
    message = _(
        "This download link has expired. Open the export's page for a new one, or export again."
    )
    page = render_template("core/error.html", code=410, title=_("Link expired"), message=message)
    return page, 410
