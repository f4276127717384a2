"""The alliance page's upload of a CORDIS export: checked at once (the files and their
columns), kept in ``cordis_uploads`` and loaded by a background job, which then
refreshes the alliance figures (their CORDIS coverage changes with the data)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from crm.cordis.jobs import owner_engine
from crm.cordis.loader import FILES, CordisFormatError, _kind_of, check_export, load_export
from crm.i18n import _
from crm.jobs import Unavailable, queue, run_progress
from crm.models import CordisUpload
from crm.validation import RuleError


def _as_zip(files: list[FileStorage], limit: int) -> tuple[str, bytes]:
    """The upload as one zip: the export's own zip, or the two CSV files packed."""
    contents = []
    total = 0
    for storage in files:
        data = storage.read(limit + 1 - total)
        total += len(data)
        if total > limit:
            raise RuleError(
                _(
                    "The upload is larger than %(size)s MB: load it with "
                    "flask crm cordis load on the server.",
                    size=limit // (1024 * 1024),
                ),
                "files",
            )
        contents.append((Path(storage.filename or "upload").name, data))
    if len(contents) == 1 and zipfile.is_zipfile(io.BytesIO(contents[0][1])):
        return contents[0][0], contents[0][1]
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents:
            kind = _kind_of(Path(name))
            if kind is None or zipfile.is_zipfile(io.BytesIO(data)):
                raise RuleError(
                    _(
                        "%(name)s: upload the export's zip, or its project.csv and "
                        "organization.csv.",
                        name=name,
                    ),
                    "files",
                )
            archive.writestr(FILES[kind], data)
    return ", ".join(name for name, _ in contents), packed.getvalue()


def _saved(directory: str, filename: str, content: bytes) -> Path:
    """The zip as a file named after the upload (the load report and its errors name it)."""
    stem = secure_filename(Path(filename.split(",")[0]).stem)[:80] or "upload"
    path = Path(directory) / f"{stem}.zip"
    path.write_bytes(content)
    return path


def _checked(filename: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="crm-cordis-") as directory:
        try:
            check_export([_saved(directory, filename, content)])
        except CordisFormatError as error:
            raise RuleError(str(error), "files") from None


def store_upload(session, files: list[FileStorage], user_id: int | None) -> CordisUpload:
    """Check the upload (size, files, columns) and keep it for the load job; nothing is
    kept when it is not a CORDIS export. Flushes, never commits. The caller checked
    that the user is an alliance admin."""
    files = [f for f in files if f and f.filename]
    if not files:
        raise RuleError(
            _("Choose the export's zip, or its project.csv and organization.csv."), "files"
        )
    name, content = _as_zip(files, current_app.config["CORDIS_UPLOAD_MAX_BYTES"])
    _checked(name, content)
    upload = CordisUpload(
        filename=name[:300], size=len(content), content=content, uploaded_by_id=user_id
    )
    session.add(upload)
    session.flush()
    return upload


def load_upload_job(upload_id: int, run_id: int) -> dict:
    """Load an uploaded export (kind "cordis"), drop the upload, then start the alliance
    refresh so the coverage figures follow the new data."""
    engine = owner_engine()
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(CordisUpload.filename, CordisUpload.content).where(
                    CordisUpload.id == upload_id
                )
            ).one_or_none()
        if row is None:
            raise CordisFormatError(_("The upload is gone: upload the export again."))
        with tempfile.TemporaryDirectory(prefix="crm-cordis-") as directory:
            report = load_export(
                engine,
                [_saved(directory, row.filename, row.content)],
                lambda percent, message: run_progress(run_id, percent, message),
            )
    finally:
        with engine.begin() as connection:
            connection.execute(delete(CordisUpload).where(CordisUpload.id == upload_id))
        engine.dispose()
    if queue() is not None:
        # From the worker: queued behind the load. Run in-process (no Redis), the page
        # starts it once the load returns (``refresh_figures``): a run started inside an
        # in-process run would share and end its request's session.
        refresh_figures()
    return report.as_dict()


def refresh_figures(user_id: int | None = None) -> None:
    """The alliance refresh after a load (the coverage figures follow the data)."""
    from crm.metrics.jobs import start_refresh

    try:
        start_refresh(None, user_id)
    except Unavailable:  # the nightly refresh will catch up
        current_app.logger.warning("alliance refresh after a CORDIS load not started")
