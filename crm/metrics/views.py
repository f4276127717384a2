"""A tenant's figures: its own (unsuppressed) beside the alliance's (suppressed)."""

from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from crm.accounts.access import STAFF, TENANT_ADMINS, has_role, roles_required
from crm.extensions import db
from crm.jobs import settled
from crm.metrics import bp, jobs, report, snapshots
from crm.metrics.coverage import Coverage
from crm.metrics.definitions import METRICS
from crm.models import JobRun, Tenant

readers = roles_required(*STAFF)


def _latest_run() -> JobRun | None:
    # RLS and the explicit filter both keep this to the tenant's own runs.
    return settled(
        db.session.scalar(
            select(JobRun)
            .where(JobRun.kind == jobs.TENANT_KIND, JobRun.tenant_id == g.tenant.id)
            .order_by(JobRun.id.desc())
            .limit(1)
        )
    )


def _rows() -> tuple:
    own_snapshot = snapshots.latest_snapshot(g.tenant.id)
    alliance_snapshot = snapshots.latest_snapshot(None)
    own = snapshots.read_cells(own_snapshot, suppress=False)
    # The association's figures of the alliance refresh itself (not of a later refresh
    # of its own) are what "alliance minus us" would subtract.
    same_run = snapshots.tenant_snapshot_of(alliance_snapshot, g.tenant.id)
    if same_run is None or same_run is own_snapshot:
        beside = own
    else:
        beside = snapshots.read_cells(same_run, suppress=False)
    alliance = snapshots.read_cells(alliance_snapshot, suppress=True, beside=beside)
    associations = db.session.scalar(select(func.count(Tenant.id))) or 1
    labels = report.label_maps()
    sections = []
    for metric in METRICS:
        alliance_by_dim = {(c.d1, c.d2): c for c in alliance[metric.key]}
        own_by_dim = {(c.d1, c.d2): c for c in own[metric.key]}
        rows = []
        for row in report.table(metric, own[metric.key], labels):
            cell = row["cell"]
            other = alliance_by_dim.get((cell.d1, cell.d2))
            average = _average(metric, other, associations)
            rows.append({**row, "alliance": other, "average": average})
        # Dimensions the alliance has and the tenant does not (zero here).
        for row in report.table(metric, alliance[metric.key], labels):
            cell = row["cell"]
            if (cell.d1, cell.d2) not in own_by_dim:
                rows.append(
                    {
                        **row,
                        "display": "0" if metric.unit != "ratio" else "—",
                        "cell": None,
                        "alliance": cell,
                        "average": _average(metric, cell, associations),
                    }
                )
        sections.append({"metric": metric, "rows": rows})
    return own_snapshot, alliance_snapshot, sections, associations


def _average(metric, cell, associations: int) -> str:
    """The alliance value per association (counts and sums); ratios have none."""
    if cell is None or metric.unit == "ratio":
        return ""
    if cell.value is None:
        return cell.display  # "<5", or "<5 others"
    return snapshots.fmt("eur" if metric.unit == "eur" else "sum", cell.value / associations)


@bp.route("/<tenant>/figures")
@readers
def tenant_report():
    own_snapshot, alliance_snapshot, sections, associations = _rows()
    return render_template(
        "metrics/tenant_report.html",
        snapshot=own_snapshot,
        age=snapshots.age_seconds(own_snapshot),
        alliance_snapshot=alliance_snapshot,
        sections=sections,
        associations=associations,
        coverage=Coverage.of(alliance_snapshot),
        run=_latest_run(),
        can_refresh=has_role(TENANT_ADMINS),
    )


@bp.route("/<tenant>/figures/<metric>.xlsx", defaults={"fmt": "xlsx"})
@bp.route("/<tenant>/figures/<metric>.csv", defaults={"fmt": "csv"})  # registered first
@readers
def tenant_metric_csv(metric: str, fmt: str):
    # The association's own figures, unsuppressed: they are its own records.
    return report.metric_csv(
        metric, g.tenant.id, suppress=False, filename=f"{g.tenant.slug}-{metric}", fmt=fmt
    )


@bp.route("/<tenant>/figures/status.json")
@readers
def tenant_status():
    return jsonify(report.run_json(_latest_run(), snapshots.latest_snapshot(g.tenant.id)))


@bp.route("/<tenant>/figures/refresh", methods=["POST"])
@roles_required(*TENANT_ADMINS)
def tenant_refresh():
    """Only the tenant's own admin may refresh, and only the tenant's own figures."""
    flash(*jobs.request_refresh(g.tenant.id, current_user.id))
    return redirect(url_for("metrics.tenant_report"))
