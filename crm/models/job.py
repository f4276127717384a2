"""A record of each background run (metrics refresh, import), for progress and errors."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base, utcnow

# "abandoned": its process died, or the queue lost or gave up on it (crm.jobs.settle).
JOB_STATUSES = ("queued", "running", "finished", "failed", "abandoned")
ACTIVE_CONDITION = "status IN ('queued', 'running')"


class JobRun(Base):
    """``tenant_id`` is NULL for alliance-wide runs. ``active_key`` names what a run
    works on when only one may work on it at a time (a refresh: its kind and
    scope); the database keeps that to one queued or running run per key, so
    concurrent starts join one run."""

    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_tenant_kind_created", "tenant_id", "kind", "created_at"),
        Index(
            "uq_job_runs_active_key",
            "active_key",
            unique=True,
            postgresql_where=text(ACTIVE_CONDITION),
            sqlite_where=text(ACTIVE_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(12), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # 0..100
    message: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    active_key: Mapped[str | None] = mapped_column(String(80))
    # Written by the running job every JOB_HEARTBEAT_INTERVAL seconds (PostgreSQL).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Not stored: set by crm.jobs.start_run when a start joined a run already active.
    joined = False
