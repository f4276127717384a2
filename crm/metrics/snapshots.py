"""Writing a snapshot atomically, and reading the latest complete one.

Write: every metric is computed in the database, then the snapshot header(s)
and all values are inserted and marked complete in one transaction, so a
reader sees the previous complete snapshot or the new one, never a half.
Read: the alliance office always reads through ``suppress`` (counts of 1 to 4
are shown as "<5"); a tenant's own figures are shown unsuppressed to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import aliased

from crm import crosstenant, formats
from crm.extensions import db
from crm.i18n import _l
from crm.metrics import coverage, disclosure
from crm.metrics.definitions import BY_KEY, METRICS
from crm.metrics.disclosure import SUPPRESSED
from crm.metrics.sql import (
    COUNTRY,
    RESULTS,
    TENANT,
    TOTAL,
    RefreshPlan,
    metric_plan,
    store_values,
)
from crm.models import MetricSnapshot, MetricValue, Tenant

HIDDEN_BESIDE = _l("<5 others")  # shown beside an association's own figure (read_cells)
# Advisory lock namespace of the metrics refreshes (PostgreSQL): one refresh of
# a scope at a time; a second waits, then writes its own complete snapshot.
LOCK_NAMESPACE = 4_242_006

snapshots_t = MetricSnapshot.__table__
values_t = MetricValue.__table__


# ---------------------------------------------------------------- writing


def refresh(
    tenant_id: int | None,
    run_id: int | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> dict:
    """Compute every metric and store one complete snapshot (alliance: also one per tenant).

    ``tenant_id`` None is the alliance refresh. Safe to run twice: a second run
    of the same ``run_id`` replaces that run's snapshot; another run adds a
    newer complete snapshot. Returns a small summary for the JobRun.
    """
    engine = crosstenant.engine()
    dialect = engine.dialect.name
    plan = metric_plan(dialect, tenant_id)
    params = {} if tenant_id is None else {"tenant_id": tenant_id}
    started = time.perf_counter()
    with engine.connect() as connection:
        if dialect == "postgresql":
            # One consistent view of the data for every metric, then the write,
            # all in one transaction that holds the scope's lock.
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:ns, :scope)"),
                    {"ns": LOCK_NAMESPACE, "scope": tenant_id or 0},
                )
                _compute(connection, plan, params, progress)
                computed = time.perf_counter()
                ids, rows = _write(connection, tenant_id, run_id, started)
                _run_all(connection, plan.teardown, {})
        else:
            # SQLite: a reader must not upgrade to writer after another connection
            # wrote (the progress updates), so compute (into temporary tables, which
            # are this connection's own) and write are two transactions.
            with connection.begin():
                _compute(connection, plan, params, progress)
            computed = time.perf_counter()
            with connection.begin():
                ids, rows = _write(connection, tenant_id, run_id, started)
            with connection.begin():
                _run_all(connection, plan.teardown, {})
    return {
        "snapshot_id": ids[None] if tenant_id is None else ids[tenant_id],
        "snapshots": len(ids),
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
        "compute_seconds": round(computed - started, 3),
    }


# Progress is written at most this often (each write is a transaction of its own).
PROGRESS_EVERY = 0.5  # seconds


def _run_all(connection: Connection, statements: list[str], params: dict) -> None:
    for sql in statements:
        connection.execute(text(sql), params)


def _compute(connection: Connection, plan: RefreshPlan, params: dict, progress) -> None:
    """Run the plan's setup and every metric's query (results stay in the database)."""
    _run_all(connection, plan.setup, params)
    if progress:
        progress(10, "gathered members and participations")
    reported = time.perf_counter()
    for i, (key, sql) in enumerate(plan.queries.items()):
        connection.execute(text(sql), params)
        if progress and time.perf_counter() - reported >= PROGRESS_EVERY:
            progress(10 + int(80 * (i + 1) / len(plan.queries)), f"computed {BY_KEY[key].title}")
            reported = time.perf_counter()
    if progress:
        progress(90, "storing the snapshot")


def _write(
    connection: Connection, tenant_id: int | None, run_id: int | None, started: float
) -> tuple[dict, int]:
    """Headers, then every metric's values from the results table, then mark complete."""
    if run_id is not None:  # a retried or duplicated run replaces its own snapshot
        connection.execute(delete(snapshots_t).where(snapshots_t.c.job_run_id == run_id))
    if tenant_id is None:
        scopes = [None, *connection.scalars(select(Tenant.id).order_by(Tenant.id))]
    else:
        scopes = [tenant_id]
    now = datetime.now(UTC)
    header = [
        {"tenant_id": t, "job_run_id": run_id, "taken_at": now, "complete": False} for t in scopes
    ]
    rows = connection.execute(
        insert(snapshots_t).returning(
            snapshots_t.c.id, snapshots_t.c.tenant_id, sort_by_parameter_order=True
        ),
        header,
    ).all()
    ids = {row.tenant_id: row.id for row in rows}
    stored = 0
    for metric in METRICS:
        sql = store_values(metric.unit, list(ids.values()))
        stored += connection.execute(text(sql), {"metric": metric.key}).rowcount
    if None in ids:
        stored += _store_sum_bases(connection, ids[None])
        connection.execute(
            update(snapshots_t)
            .where(snapshots_t.c.id == ids[None])
            .values(coverage=coverage.gather(connection))
        )
    connection.execute(
        update(snapshots_t)
        .where(snapshots_t.c.id.in_(list(ids.values())))
        .values(complete=True, duration_ms=int((time.perf_counter() - started) * 1000))
    )
    return ids, stored


# Level of the rows that carry a sum metric's rounding base in an alliance snapshot.
ROUNDING = "rounding"


def _store_sum_bases(connection: Connection, snapshot_id: int) -> int:
    """Store each sum metric's rounding base (``disclosure.sum_base``) in the alliance
    snapshot, from the aggregated rows still in the results table.

    What the base must hide: every suppressed alliance cell (1 to 4 records), and on an
    association's page the part of an alliance cell that is the other associations'
    when they have 1 to 4 records in it (``read_cells(..., beside=...)`` hides those
    cells; the base keeps them from being recovered from the cells beside them).
    """
    keys = [m.key for m in METRICS if m.unit in ("sum", "eur")]
    rows = connection.execute(
        text(
            f"SELECT metric, level, tid, d1, d2, cnt, amount FROM {RESULTS} WHERE metric IN :keys"
        ).bindparams(bindparam("keys", expanding=True)),
        {"keys": keys},
    ).all()
    largest: dict[str, Decimal] = {}
    hidden: dict[str, Decimal] = {}
    totals = {(r.metric, r.d1, r.d2): r for r in rows if r.level == TOTAL}

    def hide(metric: str, amount) -> None:
        hidden[metric] = max(hidden.get(metric, Decimal(0)), abs(Decimal(amount or 0)))

    for r in rows:
        amount = abs(Decimal(r.amount or 0))
        if r.level != TENANT:
            largest[r.metric] = max(largest.get(r.metric, Decimal(0)), amount)
            if disclosure.is_small(r.cnt):
                hide(r.metric, amount)
        else:
            total = totals[(r.metric, r.d1, r.d2)]
            if disclosure.is_small(total.cnt - r.cnt):
                hide(r.metric, Decimal(total.amount or 0) - Decimal(r.amount or 0))
    values = [
        {
            "snapshot_id": snapshot_id,
            "metric": key,
            "level": ROUNDING,
            "value": disclosure.sum_base(largest.get(key), hidden.get(key)),
            "n": 0,
        }
        for key in keys
    ]
    connection.execute(insert(values_t), values)
    return len(values)


# ---------------------------------------------------------------- reading


@dataclass
class Cell:
    metric: str
    d1: str
    d2: str
    value: Decimal | None  # None when suppressed; a share as a fraction (0 to 1)
    display: str
    suppressed: bool
    # What an audience may see of the counts behind the value (None when suppressed
    # or for the alliance office, which sees values only).
    n: int | None = None
    base: int | None = None
    # A share in percent, rounded once (the one value every page, chart and download
    # shows); None for other units and when suppressed.
    percent: Decimal | None = None

    @property
    def headline(self) -> str:
        """The value for a headline tile: large sums of euros in millions or billions."""
        if self.value is None or BY_KEY[self.metric].unit != "eur" or abs(self.value) < 10**6:
            return self.display
        return formats.compact_money(self.value)

    @property
    def number(self) -> float | None:
        """The value for a chart: shares as the displayed percentage; suppressed as None."""
        if self.value is None:
            return None
        return float(self.percent if self.percent is not None else self.value)


def fmt(unit: str, value: Decimal) -> str:
    """A value as the reader's language writes it (pages only; downloads keep numbers)."""
    if unit == "eur":
        return formats.money(value)
    return formats.number(int(value))


def make_cell(metric, d1, d2, value, n, base, suppress: bool, sum_base=None) -> Cell:
    """One cell as an audience sees it. ``suppress`` (the alliance office, and the
    alliance column of a tenant's page): disclosure control (``crm.metrics.disclosure``)
    with ``sum_base`` the rounding base of the metric's sums in this snapshot."""
    unit = BY_KEY[metric].unit
    if suppress and disclosure.is_small(n, base if unit == "ratio" else None):
        return Cell(metric, d1, d2, None, SUPPRESSED, True)
    if unit == "ratio":  # n and base are the numerator and the denominator
        num, den = (
            (disclosure.round_count(n), disclosure.round_count(base)) if suppress else (n, base)
        )
        share = disclosure.percent(num, den)
        value = Decimal(num) / Decimal(den)
        display = formats.percent(share / 100, disclosure.SHARE_PLACES)
    else:
        if suppress:
            value = (
                Decimal(disclosure.round_count(int(value)))
                if unit == "count"
                else disclosure.round_to(value, sum_base or Decimal(1))
            )
        share, display = None, fmt(unit, value)
    return Cell(
        metric,
        d1,
        d2,
        value,
        display,
        False,
        None if suppress else n,
        None if suppress else base,
        share,
    )


_rounding = aliased(MetricValue, name="rounding")


def _with_bases(query):
    """``query`` (over MetricValue) with the rounding base stored for its row's metric in
    its row's snapshot (``ROUNDING`` rows; sums of the alliance snapshot only)."""
    return query.add_columns(_rounding.value.label("sum_base")).outerjoin(
        _rounding,
        and_(
            _rounding.snapshot_id == MetricValue.snapshot_id,
            _rounding.metric == MetricValue.metric,
            _rounding.level == ROUNDING,
        ),
    )


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def latest_snapshot(tenant_id: int | None) -> MetricSnapshot | None:
    """The newest complete snapshot of the alliance (None) or of one tenant."""
    query = select(MetricSnapshot).where(MetricSnapshot.complete.is_(True))
    if tenant_id is None:
        query = query.where(MetricSnapshot.tenant_id.is_(None))
    else:
        query = query.where(MetricSnapshot.tenant_id == tenant_id)
    query = query.order_by(MetricSnapshot.taken_at.desc(), MetricSnapshot.id.desc()).limit(1)
    return db.session.scalar(query)


def tenant_snapshot_of(alliance: MetricSnapshot | None, tenant_id: int) -> MetricSnapshot | None:
    """The tenant's snapshot written by the same refresh as the alliance snapshot."""
    if alliance is None or alliance.job_run_id is None:
        return None
    return db.session.scalar(
        select(MetricSnapshot).where(
            MetricSnapshot.tenant_id == tenant_id,
            MetricSnapshot.job_run_id == alliance.job_run_id,
            MetricSnapshot.complete.is_(True),
        )
    )


def read_cells(
    snapshot: MetricSnapshot | None,
    suppress: bool,
    level: str = TOTAL,
    metrics: tuple[str, ...] | None = None,
    beside: dict[str, list[Cell]] | None = None,
) -> dict[str, list[Cell]]:
    """The snapshot's cells per metric (one query), suppressed when ``suppress``.

    ``beside``: an association's own exact cells from the same refresh, for the
    alliance column of its page. An alliance cell in which the other associations
    have 1 to 4 records is then hidden (``HIDDEN_BESIDE``): "alliance minus us"
    would isolate them.
    """
    out: dict[str, list[Cell]] = {m.key: [] for m in METRICS}
    if snapshot is None:
        return out
    query = select(
        MetricValue.metric,
        MetricValue.d1,
        MetricValue.d2,
        MetricValue.country,
        MetricValue.value,
        MetricValue.n,
        MetricValue.base,
    ).where(MetricValue.snapshot_id == snapshot.id, MetricValue.level == level)
    if metrics:
        query = query.where(MetricValue.metric.in_(metrics))
    if suppress:
        query = _with_bases(query)
    own = {(c.metric, c.d1, c.d2): c for cells in (beside or {}).values() for c in cells}
    for row in db.session.execute(query):
        if row.metric not in out:
            continue  # a metric retired since this snapshot
        d1 = row.country if level == COUNTRY else row.d1
        sum_base = _decimal(row.sum_base) if suppress else None
        cell = make_cell(row.metric, d1, row.d2, row.value, row.n, row.base, suppress, sum_base)
        if beside is not None and not cell.suppressed and _few_others(row, own.get(row[:3])):
            cell = Cell(row.metric, d1, row.d2, None, str(HIDDEN_BESIDE), True)
        if level == COUNTRY:
            cell.d2 = row.d1
        out[row.metric].append(cell)
    return out


def _few_others(row, own: Cell | None) -> bool:
    """Do the other associations have 1 to 4 records in this alliance cell?"""
    if own is None:
        return False  # all of it is the others': primary suppression covered it
    ratio = BY_KEY[row.metric].unit == "ratio"
    others_base = (row.base or 0) - (own.base or 0) if ratio else None
    return disclosure.is_small(row.n - (own.n or 0), others_base)


def country_table(snapshot: MetricSnapshot | None, metrics: tuple[str, ...]) -> dict:
    """Country x metric for single-value metrics, suppressed (alliance office only)."""
    cells = read_cells(snapshot, suppress=True, level=COUNTRY, metrics=metrics)
    countries = sorted({c.d1 for key in metrics for c in cells[key]})
    table = {country: {} for country in countries}
    for key in metrics:
        for cell in cells[key]:
            if cell.d2 == "":
                table[cell.d1][key] = cell
    return table


def trends(tenant_id: int | None, metrics: tuple[str, ...], limit: int = 30) -> dict:
    """The values of single-value ``metrics`` over the last ``limit`` complete snapshots."""
    recent = (
        select(MetricSnapshot.id, MetricSnapshot.taken_at)
        .where(
            MetricSnapshot.complete.is_(True),
            MetricSnapshot.tenant_id.is_(None)
            if tenant_id is None
            else MetricSnapshot.tenant_id == tenant_id,
        )
        .order_by(MetricSnapshot.taken_at.desc(), MetricSnapshot.id.desc())
        .limit(limit)
        .subquery()
    )
    query = (
        select(recent.c.taken_at, MetricValue.metric, MetricValue.value, MetricValue.n)
        .add_columns(MetricValue.base)
        .join(MetricValue, MetricValue.snapshot_id == recent.c.id)
        .where(
            MetricValue.metric.in_(metrics),
            MetricValue.level == TOTAL,
            MetricValue.d1 == "",
            MetricValue.d2 == "",
        )
        .order_by(recent.c.taken_at)
    )
    series: dict[str, list[tuple[datetime, Cell]]] = {key: [] for key in metrics}
    suppress = tenant_id is None
    if suppress:
        # Every point as that snapshot was published (rounded, suppressed), so the steps
        # between points are differences of protected values, never of exact counts.
        query = _with_bases(query)
    for row in db.session.execute(query):
        sum_base = _decimal(row.sum_base) if suppress else None
        cell = make_cell(row.metric, "", "", row.value, row.n, row.base, suppress, sum_base)
        series[row.metric].append((row.taken_at, cell))
    return series


def age_seconds(snapshot: MetricSnapshot | None) -> int | None:
    if snapshot is None:
        return None
    taken = snapshot.taken_at
    if taken.tzinfo is None:  # SQLite returns naive datetimes
        taken = taken.replace(tzinfo=UTC)
    return max(0, int((datetime.now(UTC) - taken).total_seconds()))
