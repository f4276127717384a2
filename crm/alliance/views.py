"""The alliance office's pages: aggregate figures only, always small-cell suppressed;
and the CORDIS reference data's upload (public data, no tenant's records).

Nothing here reads a tenant's records: every figure comes from the alliance
snapshot (``crm.metrics.snapshots``), read through ``suppress=True``.
"""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import delete, select

from crm import formats
from crm.accounts.access import ALLIANCE_ADMINS, ALLIANCE_ROLES, roles_required
from crm.alliance import bp
from crm.cordis import uploads
from crm.cordis.forms import UploadForm
from crm.cordis.queries import last_load
from crm.exports import FORMATS, download
from crm.extensions import db
from crm.forms import saving
from crm.i18n import _, current_language
from crm.jobs import Unavailable, queue, settled, start_run
from crm.metrics import jobs, report, snapshots
from crm.metrics.coverage import Coverage
from crm.metrics.definitions import (
    BY_KEY,
    COUNTRY_COMPARISON,
    HEADLINES,
    METRICS,
    TRENDS,
)
from crm.models import CordisUpload, JobRun

alliance_only = roles_required(*ALLIANCE_ROLES)


def _runs() -> tuple[JobRun | None, list[JobRun]]:
    """The latest alliance refresh, and the recent failed ones (one query)."""
    runs = db.session.scalars(
        select(JobRun)
        .where(JobRun.kind == jobs.ALLIANCE_KIND, JobRun.tenant_id.is_(None))
        .order_by(JobRun.id.desc())
        .limit(20)
    ).all()
    latest = settled(runs[0]) if runs else None
    failed = [r for r in runs if r.status == "failed"][:5]
    return latest, failed


@bp.route("/")
@alliance_only
def dashboard():
    snapshot = snapshots.latest_snapshot(None)
    latest, failed = _runs()
    return render_template(
        "alliance/dashboard.html",
        snapshot=snapshot,
        age=snapshots.age_seconds(snapshot),
        figures=figures_html(snapshot) if snapshot else None,
        run=latest,
        failed=failed,
    )


# Rendered figures of the latest snapshots, per process and language (app.extensions):
# at most this many.
FIGURES_KEPT = 8


def figures_html(snapshot) -> Markup:
    """The dashboard's figures of ``snapshot``: headlines, trends, every metric's
    chart and table, coverage. A stored snapshot never changes (a refresh writes a
    new one), and every alliance user sees the same suppressed figures, so they
    are read and rendered once per snapshot, language and process, not on every request."""
    rendered = current_app.extensions.setdefault("crm.alliance_figures", {})
    # With its time: SQLite hands a rolled-back id out again (tests do that).
    key = (snapshot.id, snapshot.taken_at, current_language())
    if key not in rendered:
        cells = snapshots.read_cells(snapshot, suppress=True)
        labels = report.label_maps()
        sections = [
            {
                "metric": m,
                "rows": report.table(m, cells[m.key], labels),
                "chart": report.chart(m, cells[m.key], labels),
            }
            for m in METRICS
            if m.chart != "none"
        ]
        html = Markup(
            render_template(
                "alliance/_figures.html",
                sections=sections,
                headlines=[(BY_KEY[k], report.single(cells[k])) for k in HEADLINES],
                trends=_trend_view(snapshots.trends(None, TRENDS)),
                coverage=Coverage.of(snapshot),
            )
        )
        while len(rendered) >= FIGURES_KEPT:
            rendered.pop(next(iter(rendered)))  # the oldest
        rendered[key] = html
    return rendered[key]


def _trend_view(trend: dict) -> list[dict]:
    out = []
    for key, points in trend.items():
        metric = BY_KEY[key]
        out.append(
            {
                "metric": metric,
                "points": points,
                "chart": {
                    "type": "line",
                    "stacked": False,
                    "unit": metric.unit,
                    "labels": [formats.datetime(t) for t, _cell in points],
                    "datasets": [
                        {"label": str(metric.title), "data": [c.number for _t, c in points]}
                    ],
                },
            }
        )
    return out


@bp.route("/countries")
@alliance_only
def countries():
    snapshot = snapshots.latest_snapshot(None)
    table = snapshots.country_table(snapshot, COUNTRY_COMPARISON)
    metrics = [BY_KEY[k] for k in COUNTRY_COMPARISON]
    return render_template(
        "alliance/countries.html",
        snapshot=snapshot,
        age=snapshots.age_seconds(snapshot),
        table=table,
        metrics=metrics,
        coverage=Coverage.of(snapshot),
    )


def downloads(path: str):
    """Route ``path`` + ".csv" and + ".xlsx" (``fmt``) to one view: the same figures."""

    def register(view):
        for fmt in FORMATS:
            view = bp.route(f"{path}.{fmt}", defaults={"fmt": fmt})(view)
        return view

    return register


@downloads("/countries")
@alliance_only
def countries_csv(fmt: str):
    snapshot = snapshots.latest_snapshot(None)
    table = snapshots.country_table(snapshot, COUNTRY_COMPARISON)
    headers = [_("Country")] + [str(BY_KEY[k].title) for k in COUNTRY_COMPARISON]
    rows = [
        [country] + [report.csv_value(cells[k]) if k in cells else "" for k in COUNTRY_COMPARISON]
        for country, cells in table.items()
    ]
    return download(fmt, "alliance-countries", headers, rows)


@downloads("/figures/<metric>")
@alliance_only
def metric_csv(metric: str, fmt: str):
    return report.metric_csv(metric, None, suppress=True, filename=f"alliance-{metric}", fmt=fmt)


@downloads("/trends")
@alliance_only
def trends_csv(fmt: str):
    trend = snapshots.trends(None, TRENDS)
    headers = [_("Snapshot"), _("Metric"), _("Value")]
    rows = [
        [taken.isoformat(), str(BY_KEY[key].title), report.csv_value(cell)]
        for key, points in trend.items()
        for taken, cell in points
    ]
    return download(fmt, "alliance-trends", headers, rows)


@bp.route("/status.json")
@alliance_only
def status():
    latest, _failed = _runs()
    return jsonify(report.run_json(latest, snapshots.latest_snapshot(None)))


@bp.route("/refresh", methods=["POST"])
@roles_required(*ALLIANCE_ADMINS)  # the analyst reads the figures, never starts work
def refresh():
    flash(*jobs.request_refresh(None, current_user.id))
    return redirect(url_for("alliance.dashboard"))


# -- CORDIS reference data: the upload of an export and the load report -------------


def _cordis_runs() -> list[JobRun]:
    runs = db.session.scalars(
        select(JobRun)
        .where(JobRun.kind == "cordis", JobRun.tenant_id.is_(None))
        .order_by(JobRun.id.desc())
        .limit(5)
    ).all()
    return [settled(r) for r in runs]


@bp.route("/cordis", methods=["GET", "POST"])
@roles_required(*ALLIANCE_ADMINS)
def cordis():
    """Upload a CORDIS export (loaded in the background, with progress) and see what the
    last load kept and left out."""
    form = UploadForm()
    status = 200
    if form.validate_on_submit():
        with saving(form) as saved:
            upload_id = uploads.store_upload(
                db.session, request.files.getlist(form.files.name), current_user.id
            ).id
        if saved:
            try:
                run = start_run(
                    "cordis",
                    uploads.load_upload_job,
                    upload_id,
                    tenant_id=None,
                    user_id=current_user.id,
                    message="loading the uploaded CORDIS export",
                )
            except Unavailable as unavailable:
                db.session.execute(delete(CordisUpload).where(CordisUpload.id == upload_id))
                db.session.commit()
                flash(str(unavailable), "error")
            else:
                if run.status == "finished" and queue() is None:  # loaded in-process
                    uploads.refresh_figures(current_user.id)
                flash(_("The export is being loaded: its progress is below."), "success")
            return redirect(url_for("alliance.cordis"))
        status = 422
    elif form.is_submitted():
        status = 422
    runs = _cordis_runs()
    return (
        render_template("alliance/cordis.html", form=form, load=last_load(), runs=runs),
        status,
    )


@bp.route("/cordis/status.json")
@roles_required(*ALLIANCE_ADMINS)
def cordis_status():
    runs = _cordis_runs()
    return jsonify(report.run_json(runs[0] if runs else None, None))
