"""Import batches: one uploaded file, its column mapping, dry-run report and outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base, TenantOwned, Timestamps

# uploaded -> mapped -> checking -> checked -> committing -> committed; failed at any step.
BATCH_STATUSES = (
    "uploaded",
    "checking",
    "checked",
    "committing",
    "committed",
    "failed",
)


class ImportBatch(TenantOwned, Timestamps, Base):
    """The file is read once, at upload, into ``staged`` (its table, compressed:
    ``crm.imports.staging``), so the preview, the dry run and the commit read
    exactly the same rows without parsing the file again; ``content`` keeps the
    original bytes of a text file only (to read it again in another encoding).
    ``stored_bytes`` (both together) counts towards the association's quota;
    both are deleted after the retention period (``file_deleted_at``). The audit
    log records the import as one event instead of one row per field
    (``__audit__ = False``)."""

    __tablename__ = "import_batches"
    __audit__ = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_import_batches_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(10))  # csv | xlsx | xls | ods
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    staged: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    stored_bytes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    file_deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    encoding: Mapped[str | None] = mapped_column(String(20))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    decimal_mark: Mapped[str | None] = mapped_column(String(1))
    headers: Mapped[list | None] = mapped_column(JSON)
    mapping: Mapped[dict | None] = mapped_column(JSON)
    report: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    status: Mapped[str] = mapped_column(String(12), default="uploaded")
    error: Mapped[str | None] = mapped_column(String(500))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    # No foreign key: job_runs has no (tenant_id, id) key to point at; the run
    # is read back through the tenant scope like the batch itself.
    job_run_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<ImportBatch {self.id} {self.kind} {self.status}>"
