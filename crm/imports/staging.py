"""An uploaded file read once, in a child process, into the staged table the later steps read.

The web process never parses an upload itself: ``stage`` hands the bytes to
``parse_child`` (a separate Python process limited to IMPORT_PARSE_MEMORY_BYTES
of address space and IMPORT_PARSE_CPU_SECONDS), so a file built to exhaust
memory ends that child, not the web server or the rq worker. The child returns
the table as gzip-compressed JSON lines (a head line with the headers and how
the file was read, then ``[line, cells]`` per data row), stored on the batch;
the preview, the dry run and the commit read that, not the file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from itertools import islice
from pathlib import Path

from flask import current_app

from crm.formats import number
from crm.i18n import _, ngettext
from crm.imports.parse_child import peak_rss
from crm.imports.reading import ImportFileError, Limits, Table
from crm.models import ImportBatch

CHILD = str(Path(__file__).with_name("parse_child.py"))
_POLL_SECONDS = 0.01
# config setting -> Limits field
LIMIT_SETTINGS = {
    "rows": "IMPORT_MAX_ROWS",
    "columns": "IMPORT_MAX_COLUMNS",
    "cell_chars": "IMPORT_MAX_CELL_CHARS",
    "cells": "IMPORT_MAX_CELLS",
    "decompressed_bytes": "IMPORT_MAX_DECOMPRESSED_BYTES",
    "compression_ratio": "IMPORT_MAX_COMPRESSION_RATIO",
}


class FileRefused(ImportFileError):
    """The child refused the file or could not read it within its limits."""

    def __init__(self, message: str, peak_rss: int):
        super().__init__(message)
        self.peak_rss = peak_rss


@dataclass
class Staged:
    """The staged table (``blob``), how the file was read (``table``, without rows)
    and the child's peak resident memory in bytes."""

    table: Table
    blob: bytes
    peak_rss: int


def limits() -> Limits:
    config = current_app.config
    return Limits(**{f.name: config[LIMIT_SETTINGS[f.name]] for f in fields(Limits)})


def stage(data: bytes, encoding: str | None = None, legacy: str = "Windows-1252") -> Staged:
    """Read ``data`` in the child; raise ImportFileError (a ``FileRefused``) with a
    message for the user when it is not a table or is past the limits."""
    config = current_app.config
    options = {
        "memory_bytes": config["IMPORT_PARSE_MEMORY_BYTES"],
        "cpu_seconds": config["IMPORT_PARSE_CPU_SECONDS"],
        "encoding": encoding,
        "legacy": legacy,
        "limits": limits().__dict__,
    }
    with (
        tempfile.TemporaryFile() as source,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        source.write(data)
        source.seek(0)
        child = subprocess.Popen(
            [sys.executable, "-I", CHILD, json.dumps(options)],
            stdin=source,
            stdout=out,
            stderr=err,
        )
        returncode, peak = _wait(child)
        err.seek(0)
        outcome = _outcome(err.read())
        peak = max(peak, outcome.get("peak_rss", 0))
        if "ok" in outcome and returncode == 0:
            out.seek(0)
            head = outcome["ok"]
            table = Table(
                head["file_format"],
                head["headers"],
                [],
                head["encoding"],
                head["delimiter"],
                head["row_count"],
            )
            return Staged(table, out.read(), peak)
    if "error" in outcome:
        raise FileRefused(outcome["error"], peak)
    if returncode == -signal.SIGXCPU:
        raise FileRefused(
            _(
                "The file takes longer to read than an import may take. Split it into smaller "
                "files, or save it as CSV."
            ),
            peak,
        )
    raise FileRefused(
        _(
            "The file needs more memory than an import may use (%(size)s MB): split it into "
            "smaller files, or save it as CSV.",
            size=number(config["IMPORT_PARSE_MEMORY_BYTES"] // (1024 * 1024)),
        ),
        peak,
    )


def _wait(child: subprocess.Popen) -> tuple[int, int]:
    """Wait for the child; return its exit status and peak resident memory, sampled
    while it runs (a child killed for its memory reports nothing itself)."""
    peak = 0
    while True:
        pid, status = os.waitpid(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode, peak
        peak = max(peak, peak_rss(child.pid))
        time.sleep(_POLL_SECONDS)


def _outcome(stderr: bytes) -> dict:
    """The child's last line of stderr, when it lived to write it."""
    for line in reversed(stderr.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return {}
    return {}


def require_file(batch: ImportBatch) -> None:
    if batch.file_deleted_at is not None:
        raise ImportFileError(
            ngettext(
                "The file of this import was deleted %(num)s day after its upload. "
                "Upload it again.",
                "The file of this import was deleted %(num)s days after its upload. "
                "Upload it again.",
                current_app.config["IMPORT_RETENTION_DAYS"],
            )
        )


def table_of(batch: ImportBatch, max_rows: int | None = None) -> Table:
    """The batch's rows as staged at upload (``max_rows``: only the first ones).

    A batch uploaded before files were staged is read (in the child) and staged now.
    """
    require_file(batch)
    if batch.staged is None:
        staged = stage(batch.content, encoding=batch.encoding)
        batch.staged = staged.blob
        batch.stored_bytes = len(batch.content) + len(staged.blob)
    return load(batch.staged, max_rows)


def load(blob: bytes, max_rows: int | None = None) -> Table:
    """The staged table; with ``max_rows``, only its first rows (a preview reads
    no further into the compressed stream)."""
    with gzip.GzipFile(fileobj=io.BytesIO(blob)) as stream:
        head = json.loads(stream.readline())
        if max_rows is not None:
            rows = [json.loads(line) for line in islice(stream, max_rows)]
        else:
            # One parse of all rows: a JSON list of the lines (each is a JSON value
            # without raw newlines) is quicker than a json.loads per line.
            body = stream.read().rstrip(b"\n").replace(b"\n", b",")
            rows = json.loads(b"[" + body + b"]")
    return Table(
        head["file_format"],
        head["headers"],
        rows,
        head["encoding"],
        head["delimiter"],
        head["row_count"],
    )
