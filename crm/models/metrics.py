"""Metric snapshots: one header per refresh and its values, written in one transaction.

``tenant_id`` NULL is the alliance-wide snapshot. The values are stored
unsuppressed; small-cell suppression happens when the alliance office reads
them (``crm.metrics.snapshots``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base, utcnow


class MetricSnapshot(Base):
    """A complete set of metric values at one moment, for the alliance or one tenant."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (
        Index("ix_metric_snapshots_tenant_complete_taken", "tenant_id", "complete", "taken_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE")
    )
    job_run_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("job_runs.id", ondelete="SET NULL")
    )
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    # Alliance snapshots: the associations behind each figure (crm.metrics.coverage).
    coverage: Mapped[dict | None] = mapped_column(JSON)


class MetricValue(Base):
    """One cell: ``metric`` at ``level`` ('total' or 'country'), for dimensions d1/d2.

    ``n`` is the number of records behind the value (organisations, projects,
    participations); it decides suppression. ``base`` is a ratio's denominator.
    """

    __tablename__ = "metric_values"
    __table_args__ = (Index("ix_metric_values_snapshot_metric", "snapshot_id", "metric"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("metric_snapshots.id", ondelete="CASCADE")
    )
    # Copied from the snapshot so row-level security can read it without a join.
    tenant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE")
    )
    metric: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(10), default="total")
    country: Mapped[str] = mapped_column(String(2), default="")
    d1: Mapped[str] = mapped_column(String(60), default="")
    d2: Mapped[str] = mapped_column(String(60), default="")
    value: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    n: Mapped[int] = mapped_column(Integer, default=0)
    base: Mapped[int | None] = mapped_column(Integer)
