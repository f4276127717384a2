"""Turning snapshot cells into what pages show: labels, tables, chart data and CSV rows.

Shared by the tenant's figures page and the alliance office's pages; the
cells arrive already suppressed (or not) from ``crm.metrics.snapshots``.
"""

from __future__ import annotations

from decimal import Decimal

from flask import abort
from sqlalchemy import select

from crm.exports import download
from crm.extensions import db
from crm.i18n import _
from crm.metrics import snapshots
from crm.metrics.definitions import BY_KEY, Metric
from crm.metrics.snapshots import SUPPRESSED, Cell
from crm.models import Ecosystem, JobRun
from crm.models.organisation import KINDS, SIZE_CLASSES
from crm.models.project import PROJECT_STATUSES

ORDERED_DIMENSIONS = ("Quarter", "Start year")


def label_maps() -> dict[str, dict[str, str]]:
    """Readable names of dimension values, per dimension label (one small query)."""
    rows = db.session.execute(select(Ecosystem.code, Ecosystem.name))
    ecosystems = {code: name for code, name in rows}
    sizes = {**SIZE_CLASSES, "unknown": _("Unknown")}
    return {
        "Kind": dict(KINDS),
        "Size class": sizes,
        "Ecosystem": ecosystems,
        "Status": dict(PROJECT_STATUSES),
    }


def _label(labels: dict, dimension: str, value: str) -> str:
    return labels.get(dimension, {}).get(value, value)


def ordered_keys(metric: Metric, cells: list[Cell]) -> list[str]:
    """Dimension values in display order: time ascending, else largest first.

    Suppressed values go last in alphabetical order, so their order says
    nothing about their size.
    """
    keys = sorted({c.d1 for c in cells})
    if metric.d1 in ORDERED_DIMENSIONS:
        return keys
    totals: dict[str, float] = {}
    hidden: set[str] = set()
    for c in cells:
        if c.value is None:
            hidden.add(c.d1)
        else:
            totals[c.d1] = totals.get(c.d1, 0.0) + float(c.value)
    shown = [k for k in keys if k not in hidden]
    shown.sort(key=lambda k: -totals.get(k, 0.0))
    return shown + [k for k in keys if k in hidden]


def table(metric: Metric, cells: list[Cell], labels: dict) -> list[dict]:
    """Rows of a metric's table: dimension labels, the displayed value and the cell."""
    order = {k: i for i, k in enumerate(ordered_keys(metric, cells))}
    rows = sorted(cells, key=lambda c: (order.get(c.d1, 0), c.d2))
    return [
        {
            "d1": str(_label(labels, metric.d1, c.d1)),
            "d2": str(_label(labels, metric.d2, c.d2)),
            "display": c.display,
            "cell": c,
        }
        for c in rows
    ]


def chart(metric: Metric, cells: list[Cell], labels: dict) -> dict:
    """Chart.js-ready data: suppressed cells are null (nothing to read off the chart)."""
    keys = ordered_keys(metric, cells)
    names = [str(_label(labels, metric.d1, k)) for k in keys]  # JSON for the chart
    if metric.chart == "stacked":
        series = sorted({c.d2 for c in cells})
        lookup = {(c.d1, c.d2): c for c in cells}
        datasets = [
            {
                "label": str(_label(labels, metric.d2, s)),
                "data": [_number(lookup.get((k, s))) for k in keys],
            }
            for s in series
        ]
    else:
        lookup = {c.d1: c for c in cells}
        datasets = [{"label": str(metric.title), "data": [_number(lookup.get(k)) for k in keys]}]
    return {
        "type": "bar",
        "stacked": metric.chart == "stacked",
        "unit": metric.unit,
        "labels": names,
        "datasets": datasets,
    }


def _number(cell: Cell | None) -> float | None:
    return None if cell is None else cell.number


def csv_value(cell: Cell) -> str | Decimal | int:
    """A spreadsheet-friendly value: '<5' when suppressed, shares as the percentage
    shown on the page (rounded once, in ``crm.metrics.disclosure.percent``)."""
    if cell.value is None:
        return SUPPRESSED
    if cell.percent is not None:
        return cell.percent
    if BY_KEY[cell.metric].unit == "eur":
        return cell.value.quantize(Decimal("0.01"))
    return int(cell.value)


def value_heading(metric: Metric) -> str:
    return {"ratio": _("Share (%)"), "eur": "EUR", "sum": _("Total")}.get(metric.unit, _("Count"))


def csv_rows(metric: Metric, cells: list[Cell], labels: dict) -> tuple[list[str], list[list]]:
    headers = [h for h in (metric.d1_label, metric.d2_label) if h] + [value_heading(metric)]
    rows = []
    for row in table(metric, cells, labels):
        dims = [row["d1"]] if metric.d1 else []
        if metric.d2:
            dims.append(row["d2"])
        rows.append([*dims, csv_value(row["cell"])])
    return headers, rows


def metric_csv(key: str, tenant_id: int | None, *, suppress: bool, filename: str, fmt: str = "csv"):
    """One metric of the latest snapshot (the alliance's when ``tenant_id`` is
    None) as a CSV or XLSX download; 404 for a metric that does not exist."""
    definition = BY_KEY.get(key)
    if definition is None:
        abort(404)
    snapshot = snapshots.latest_snapshot(tenant_id)
    cells = snapshots.read_cells(snapshot, suppress=suppress, metrics=(key,))[key]
    headers, rows = csv_rows(definition, cells, label_maps())
    return download(fmt, filename, headers, rows)


def single(cells: list[Cell]) -> Cell | None:
    """The value of a single-value metric (no dimensions), if any."""
    return next((c for c in cells if c.d1 == "" and c.d2 == ""), None)


def run_json(run: JobRun | None, snapshot) -> dict:
    """A refresh's state for the progress bar, and the current snapshot's time and age."""
    return {
        "id": run.id if run else None,
        "status": run.status if run else "none",
        "progress": run.progress if run else 0,
        "message": run.message if run else None,
        "error": run.error if run and run.status in ("failed", "abandoned") else None,
        "snapshot_taken_at": snapshot.taken_at.isoformat() if snapshot else None,
        "snapshot_age_seconds": snapshots.age_seconds(snapshot),
    }
