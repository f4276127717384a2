"""Export files built in the background (an XLSX too large to build in a request),
kept until they expire."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base, TenantOwned, utcnow


class ExportFile(TenantOwned, Base):
    """The file of one export run (``run_id``); deleted once ``expires_at`` is past.
    Not audited row by row (``__audit__ = False``): the run records who asked."""

    __tablename__ = "export_files"
    __audit__ = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "run_id"),
        Index("ix_export_files_tenant_expires", "tenant_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The run that built it (no foreign key: every key of a tenant table leads
    # with tenant_id, and job_runs, with its alliance-wide runs, has none such).
    run_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
