"""CSV and XLSX downloads of tabular data, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from flask import Response, stream_with_context
from flask_babel.speaklater import LazyString

from crm.tenancy import current_scope, tenant_scope

FORMATS = ("csv", "xlsx")
# An export is one list of (header, column) pairs, so a column and its header
# are written once, side by side, and never drift apart.
Export = Sequence[tuple[str, Any]]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Cells a spreadsheet would run as formulas get a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def headers(export: Export) -> list[str]:
    return [str(header) for header, _ in export]  # a header may be a lazy translation


def columns(export: Export) -> list:
    return [column for _, column in export]


def _plain(value):
    """The value as either format takes it, before any format-specific care."""
    if value is None:
        return ""
    if isinstance(value, LazyString):  # a label (``_l``), in the reader's language
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, list | tuple | set):
        return "; ".join(str(v) for v in value)
    return value


def _csv_cell(value):
    value = _plain(value)
    # A CSV cell has no type: a spreadsheet would run "=..." as a formula.
    return value.isoformat() if isinstance(value, date) else neutralise(value)


# Excel's dates start on 1900-01-01; an older one would be a broken serial number.
_EXCEL_FIRST_DAY = date(1900, 1, 1)


def xlsx_cell(value):
    """No apostrophe: the workbook writes strings as strings (never formulas)."""
    value = _plain(value)
    if isinstance(value, date) and _day(value) < _EXCEL_FIRST_DAY:
        return value.isoformat()
    return value


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


# Rows per piece of a streamed CSV: small enough to start the download at once
# and hold little, large enough that a piece is not a syscall per row.
CSV_CHUNK_ROWS = 500


def csv_chunks(
    headers: Sequence[str], rows: Iterable[Sequence], chunk_rows: int = CSV_CHUNK_ROWS
) -> Iterator[bytes]:
    """The CSV file in pieces, as the rows come (a database cursor read with
    ``yield_per``): memory stays flat whatever the number of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # BOM: Excel reads UTF-8 then
    writer.writerow(headers)
    for number, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(v) for v in row])
        if number % chunk_rows == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    return b"".join(csv_chunks(headers, rows))


# Strings stay strings (never formulas, links or numbers), so a cell starting
# with "=" needs no apostrophe here; rows go to a temporary file as they come
# (constant memory), at about twice openpyxl's speed.
XLSX_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_date_format": "yyyy-mm-dd",
}


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence], sheet: str = "Export") -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, XLSX_OPTIONS)
    worksheet = workbook.add_worksheet(sheet[:31])
    worksheet.write_row(0, 0, list(headers))
    for number, row in enumerate(rows, start=1):
        worksheet.write_row(number, 0, [xlsx_cell(v) for v in row])
    workbook.close()
    return buffer.getvalue()


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(
    fmt: str,
    filename: str,
    headers: Sequence[str],
    rows: Iterable[Sequence] | Callable[[], Iterable[Sequence]],
) -> Response:
    """A file download of ``rows`` as CSV or XLSX; ``filename`` without extension.

    ``rows`` given as a function (``lambda: queries.export_rows(...)``) makes a
    CSV stream: the query runs as the body is sent and its rows leave as the
    database sends them (a cursor read with ``yield_per``), so a large export
    never holds the whole file nor waits for it. The function runs after the
    view has returned, when Flask has already ended the request's session: it
    gets a new one, in the request's tenant scope again. Rows given as an iterable are
    written at once. An XLSX is a zip whose directory comes last: it is built
    whole (``crm.downloads`` builds large ones in the background).
    """
    headers = [str(h) for h in headers]  # in the reader's language; the values stay as stored
    if fmt == "xlsx":
        body, mimetype = xlsx_bytes(headers, rows() if callable(rows) else rows), XLSX_MIMETYPE
    elif callable(rows):
        fmt, mimetype = "csv", "text/csv; charset=utf-8"
        body = stream_with_context(_streamed_csv(headers, rows, current_scope()))
    else:
        fmt, mimetype = "csv", "text/csv; charset=utf-8"
        body = csv_bytes(headers, rows)
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def _streamed_csv(headers, produce: Callable[[], Iterable[Sequence]], scope) -> Iterator[bytes]:
    with tenant_scope(scope):
        yield from csv_chunks(headers, produce())
