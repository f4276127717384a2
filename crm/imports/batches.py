"""The life of an import batch: the upload (read once, within the quota), reading a
text file again in another encoding, the column mapping and its dry run, the claim
for the commit, the background run, the progress, and the deletion of old files.

Verbs take the tenant (or the tenant's batch) and flush, never commit: the view or
the job commits once. They assume the caller checked the user's role
(tenant admin or secretariat, ``crm.imports.views``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import case, func, select, update

from crm.extensions import db
from crm.formats import number
from crm.i18n import _l, ngettext
from crm.imports import flow, reading, staging
from crm.imports.kinds import KINDS_BY_KEY, suggest_mapping
from crm.imports.plan import ImportPlan
from crm.imports.reading import ImportFileError, Table
from crm.jobs import ACTIVE, settle
from crm.models import ImportBatch, JobRun, Tenant
from crm.models.base import utcnow

# A batch's columns and encoding can change until it is being imported.
EDITABLE = ("uploaded", "checked", "failed")
BUSY = ("checking", "committing")
# A batch's status as the pages name it.
STATUS_LABELS = {
    "uploaded": _l("uploaded"),
    "checking": _l("checking"),
    "checked": _l("checked"),
    "committing": _l("importing"),
    "committed": _l("imported"),
    "failed": _l("failed"),
}


class MappingRefused(Exception):
    """The chosen columns cannot be used; ``problems`` say why, one sentence each."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def _megabytes(size: int) -> str:
    return f"{number(size / 1024 / 1024, 1)} MB"


# -- upload and reading ----------------------------------------------------------


def upload(tenant: Tenant, user_id: int | None, kind: str, filename: str, data: bytes):
    """Read ``data`` (in the child process) and record it as a new batch with a
    suggested mapping. Raises ImportFileError when it is no table, is past the
    limits, or would take the association past its quota of stored files."""
    purge_expired(tenant.id)
    used, quota = stored_bytes(), current_app.config["IMPORT_QUOTA_BYTES"]
    if used >= quota:
        raise ImportFileError(_over_quota(used, quota))
    staged = staging.stage(data, legacy=reading.code_page(tenant.country))
    table = staged.table
    # The original is kept only where it can be read again (another encoding).
    original = data if table.file_format == "csv" else b""
    size = len(original) + len(staged.blob)
    if used + size > quota:
        raise ImportFileError(_over_quota(used, quota, size))
    batch = ImportBatch(
        tenant_id=tenant.id,
        kind=KINDS_BY_KEY[kind].key,
        filename=(filename or "upload")[:255],
        file_format=table.file_format,
        content=original,
        staged=staged.blob,
        stored_bytes=size,
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=table.headers,
        mapping=suggest_mapping(KINDS_BY_KEY[kind], table.headers),
        row_count=table.row_count,
        status="uploaded",
        created_by_id=user_id,
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def _over_quota(used: int, quota: int, size: int | None = None) -> str:
    days = current_app.config["IMPORT_RETENTION_DAYS"]
    sizes = {"used": _megabytes(used), "quota": _megabytes(quota)}
    if size:
        return ngettext(
            "This file needs %(size)s, and the association's imports already take %(used)s "
            "of the %(quota)s they may keep. Delete old imports (or wait until they are "
            "deleted, %(num)s day after their upload) and upload the file again.",
            "This file needs %(size)s, and the association's imports already take %(used)s "
            "of the %(quota)s they may keep. Delete old imports (or wait until they are "
            "deleted, %(num)s days after their upload) and upload the file again.",
            days,
            size=_megabytes(size),
            **sizes,
        )
    return ngettext(
        "The association's imports already take %(used)s of the %(quota)s they may keep. "
        "Delete old imports (or wait until they are deleted, %(num)s day after their "
        "upload) and upload the file again.",
        "The association's imports already take %(used)s of the %(quota)s they may keep. "
        "Delete old imports (or wait until they are deleted, %(num)s days after their "
        "upload) and upload the file again.",
        days,
        **sizes,
    )


def stored_bytes() -> int:
    """What the current association's import files take (the quota's measure)."""
    return db.session.scalar(select(func.coalesce(func.sum(ImportBatch.stored_bytes), 0)))


def encoding_guessed(batch: ImportBatch) -> bool:
    """A text file read without a byte order mark, which would leave no doubt."""
    return batch.file_format == "csv" and batch.encoding in reading.CHOSEN_ENCODINGS


def read_as(batch: ImportBatch, encoding: str) -> Table:
    """Read the stored text file again in ``encoding``: its columns are suggested
    afresh and any dry run is void (the rows may read differently)."""
    staging.require_file(batch)
    staged = staging.stage(batch.content, encoding=encoding)
    table = staged.table
    batch.staged, batch.stored_bytes = staged.blob, len(batch.content) + len(staged.blob)
    batch.encoding, batch.delimiter = table.encoding, table.delimiter
    batch.headers, batch.row_count = table.headers, table.row_count
    batch.mapping = suggest_mapping(KINDS_BY_KEY[batch.kind], table.headers)
    batch.status, batch.report, batch.checked_at = "uploaded", None, None
    db.session.flush()
    return table


def preview(batch: ImportBatch) -> tuple[list[list[str]], dict[str, list[str]]]:
    """The first rows as read (to see that the encoding and columns are right),
    and each column's first values (shown beside the field it is chosen for)."""
    try:
        table = staging.table_of(batch, max_rows=3)
    except ImportFileError:
        return [], {}
    width = len(table.headers)
    padded = ((cells + [""] * width)[:width] for _line, cells in table.rows)
    rows = [[reading.cell_text(c) for c in cells] for cells in padded]
    samples = {header: [row[i] for row in rows] for i, header in enumerate(table.headers)}
    return rows, samples


# -- mapping, dry run, commit ------------------------------------------------------


def in_background(batch: ImportBatch) -> bool:
    """Whether the batch is checked and committed by a job (a large file)."""
    return batch.row_count > current_app.config["IMPORT_INLINE_MAX_ROWS"]


def choose_mapping(batch: ImportBatch, tenant: Tenant, chosen: dict[str, str]) -> ImportPlan | None:
    """Keep the chosen columns and check the file: here (the plan), or, for a
    large file, not yet (None: the caller starts the job). Raises MappingRefused
    or ImportFileError; nothing is kept then."""
    problems = flow.mapping_errors(KINDS_BY_KEY[batch.kind], chosen, batch.headers or [])
    if problems:
        raise MappingRefused(problems)
    batch.mapping = chosen
    if in_background(batch):
        return None
    return flow.dry_run(db.session, batch, tenant)


def claim_for_commit(batch: ImportBatch) -> bool:
    """Mark a checked batch ``committing`` with a conditional UPDATE, so a double
    click or a second tab cannot commit it twice; False when another got it."""
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == "checked")
        .values(status="committing")
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def commit(batch: ImportBatch, tenant: Tenant, user_id: int | None) -> ImportPlan:
    """Write the batch (all rows or none); raises flow.ImportRejected, ImportFileError."""
    return flow.commit(db.session, batch, tenant, user_id)


def begin_phase(batch: ImportBatch, phase: str) -> None:
    """Mark the batch as being checked (``dry_run``) or written (``commit``) by a job."""
    batch.status = "checking" if phase == "dry_run" else "committing"
    db.session.flush()


# Where a batch goes back to when its background run ended without finishing it,
# and what the user is told. The stored file is kept: no new upload is needed.
INTERRUPTED = {
    "checking": (
        "uploaded",
        _l(
            "The check of this file was interrupted before it finished. Nothing was "
            "imported; choose the columns again to check it again."
        ),
    ),
    "committing": (
        "checked",
        _l(
            "The import was interrupted before it finished. Nothing was imported (all rows "
            "go in together, or none); you can start it again."
        ),
    ),
}


def put_back(batch: ImportBatch, status: str) -> str:
    """Return a batch being checked or committed to where it can be started again
    (``INTERRUPTED``), its file kept; ``status`` is the one it was being moved to.
    Returns what to tell the user."""
    back, message = INTERRUPTED[status]
    batch.status = back
    db.session.flush()
    return str(message)


def recover(batch: ImportBatch) -> str | None:
    """Put back a batch whose background run ended without finishing it: its
    process died or the queue lost it (the run is then marked abandoned,
    ``crm.jobs.settle``), or it was never enqueued. What to tell the user, or
    None when the batch is fine (not busy, or its run is alive)."""
    if batch.status not in BUSY:
        return None
    run = run_of(batch)
    if run is not None and run.status in ACTIVE and settle(run):
        return None
    return put_back(batch, batch.status)


def run_of(batch: ImportBatch) -> JobRun | None:
    if batch.job_run_id is None:
        return None
    return db.session.scalar(
        select(JobRun).where(JobRun.id == batch.job_run_id, JobRun.tenant_id == batch.tenant_id)
    )


def progress(batch: ImportBatch) -> dict:
    """The batch's state and its background run's progress (what the progress bar polls)."""
    run = run_of(batch)
    busy = batch.status in BUSY
    if busy:
        state = run.status if run is not None and run.status != "finished" else "running"
    else:
        state = "failed" if batch.status == "failed" else "finished"
    return {
        "batch_id": batch.id,
        "batch_status": batch.status,
        "status": state,
        "progress": (run.progress if run is not None else 0) if busy else 100,
        "message": (run.message if run is not None and busy else None) or batch.error,
        "rows": batch.row_count,
        "created": batch.created_count,
        "updated": batch.updated_count,
        "unchanged": batch.unchanged_count,
        "rejected": batch.rejected_count,
    }


# -- retention ---------------------------------------------------------------------


def purge_expired(tenant_id: int, now=None) -> int:
    """Delete the files of ``tenant_id``'s batches uploaded more than
    IMPORT_RETENTION_DAYS ago (the batch, its counts and report stay). Returns how
    many batches lost their files."""
    now = now or utcnow()
    days = current_app.config["IMPORT_RETENTION_DAYS"]
    return _delete_files(
        f"The file was deleted {days} days after its upload.",
        now,
        ImportBatch.tenant_id == tenant_id,
        ImportBatch.created_at < now - timedelta(days=days),
    )


def delete_file(batch: ImportBatch) -> bool:
    """Delete the batch's file now (to make room in the quota); False when it is
    being checked or committed, or already deleted."""
    deleted = _delete_files(
        "The file was deleted.",
        utcnow(),
        ImportBatch.tenant_id == batch.tenant_id,
        ImportBatch.id == batch.id,
    )
    db.session.expire(batch)
    return deleted == 1


def _delete_files(reason: str, now, *criteria) -> int:
    """Empty the stored files of the batches matching ``criteria``; a batch not yet
    imported is marked failed with ``reason``; one being checked or committed is
    left alone."""
    unfinished = ImportBatch.status.in_(EDITABLE)
    result = db.session.execute(
        update(ImportBatch)
        .where(*criteria, ImportBatch.file_deleted_at.is_(None), ImportBatch.status.not_in(BUSY))
        .values(
            content=b"",
            staged=None,
            stored_bytes=0,
            file_deleted_at=now,
            status=case((unfinished, "failed"), else_=ImportBatch.status),
            error=case((unfinished, reason), else_=ImportBatch.error),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
