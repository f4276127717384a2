"""Segments: save a list's filters, list them, open, rename, delete (staff only)."""

from __future__ import annotations

from types import SimpleNamespace

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from crm import choices
from crm.accounts.access import STAFF, roles_required
from crm.extensions import db
from crm.forms import render_form, saving
from crm.i18n import _
from crm.members.forms import ConfirmForm
from crm.models.segment import SEGMENT_SOURCES
from crm.segments import queries, services
from crm.segments.forms import SegmentForm
from crm.validation import MAX_ID

bp = Blueprint("segments", __name__)

# The list each source opens (its endpoint).
LISTS = {"members": "members.directory", "contacts": "contacts.index"}


def staff_only(view):
    return login_required(roles_required(*STAFF)(view))


def _segment_or_404(segment_id: int):
    segment = queries.segment_or_none(segment_id) if segment_id <= MAX_ID else None
    if segment is None:
        abort(404)
    return segment


def _source() -> str:
    source = request.args.get("source", "members")
    return source if source in SEGMENT_SOURCES else "members"


def _list_args() -> MultiDict:
    """The list's filters, as the page that sent the user here had them."""
    args = MultiDict(request.args)
    args.pop("source", None)
    return args


@bp.route("/<tenant>/segments")
@staff_only
def index():
    try:
        number = min(max(1, int(request.args.get("page", 1))), 1_000_000)
    except ValueError:
        number = 1
    page = queries.segments_page(number, current_app.config["PAGE_SIZE"])
    return render_template(
        "segments/index.html", page=page, sources=SEGMENT_SOURCES, confirm=ConfirmForm()
    )


@bp.route("/<tenant>/segments/new", methods=["GET", "POST"])
@staff_only
def create():
    source = _source()
    filters, ignored = queries.normalised(source, _list_args())
    form = SegmentForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            segment = services.save_segment(
                db.session, g.tenant.id, form.name.data, source, filters, user_id=current_user.id
            )
        if saved:
            flash(_("The segment “%(name)s” is saved.", name=segment.name), "success")
            return redirect(url_for("segments.index"))
    return render_form(
        "segments/form.html",
        form,
        segment=None,
        source=source,
        filters=filters,
        ignored=ignored,
        back=url_for(LISTS[source], **filters),
    )


@bp.route("/<tenant>/segments/<int:segment_id>")
@staff_only
def show(segment_id: int):
    """Open the segment: its list with its filters (unknown ones ignored, with a notice)."""
    segment = _segment_or_404(segment_id)
    filters, ignored = queries.normalised(segment.source, segment.filters or {})
    if ignored:
        flash(
            _(
                "Some of this segment's filters are no longer available and were ignored: "
                "%(names)s.",
                names=", ".join(ignored),
            ),
            "warning",
        )
    return redirect(url_for(LISTS[segment.source], segment=segment.id, **filters))


@bp.route("/<tenant>/segments/<int:segment_id>/edit", methods=["GET", "POST"])
@staff_only
def edit(segment_id: int):
    segment = _segment_or_404(segment_id)
    form = SegmentForm(obj=segment)
    if form.validate_on_submit():
        with saving(form) as saved:
            services.rename_segment(db.session, segment, form.name.data)
        if saved:
            flash(_("The segment is renamed “%(name)s”.", name=segment.name), "success")
            return redirect(url_for("segments.index"))
    filters, ignored = queries.normalised(segment.source, segment.filters or {})
    return render_form(
        "segments/form.html",
        form,
        segment=segment,
        source=segment.source,
        filters=filters,
        ignored=ignored,
        back=url_for("segments.index"),
    )


@bp.route("/<tenant>/segments/<int:segment_id>/delete", methods=["POST"])
@staff_only
def delete(segment_id: int):
    segment = _segment_or_404(segment_id)
    if ConfirmForm().validate_on_submit():
        name = segment.name
        services.delete_segment(db.session, segment)
        db.session.commit()
        flash(_("The segment “%(name)s” is deleted.", name=name), "success")
    return redirect(url_for("segments.index"))


@bp.app_context_processor
def related_filter_choices():
    """The choices of the directory's related-record filters, read once per request."""

    def related_choices() -> SimpleNamespace:
        if "related_choices" not in g:
            g.related_choices = SimpleNamespace(
                tags=choices.tags(), programmes=choices.programmes()
            )
        return g.related_choices

    return {"related_choices": related_choices}
