"""Turning an uploaded file into a header row and data rows, whatever tool wrote it.

Detects from the bytes, never from the file name: the format (CSV, or a
workbook: .xlsx, .xls, .ods); for text, the encoding (UTF-8 with or without
BOM, UTF-16 with BOM, or the Windows code page of the association's country,
or of another one when that reads clearly better) and the delimiter (``,``
``;`` tab ``|``); and the decimal convention of the numbers. Every failure
is an ``ImportFileError`` whose message can be shown as is.

With ``Limits`` the reading refuses what no real import needs (too many rows,
columns or characters in a cell; a workbook that unpacks to too much or
states a too large sheet) before building it. Hostile files are read in a child
process (``staging``), which loads this module alone: it imports only the
standard library (and calamine).
"""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import python_calamine


# This module runs in the app and, alone, in the parsing child (``parse_child``),
# which loads neither the app nor Babel: there its messages stay in English.
def _(text: str, **variables) -> str:
    """``text`` in the user's language where the app runs (a request, a job)."""
    babel = sys.modules.get("flask_babel")
    if babel is not None:
        return babel.gettext(text, **variables)
    return text % variables if variables else text


def _l(text: str) -> str:
    """Marks a text defined at import time; ``_`` translates it where it is shown."""
    return text


def _number(value, digits: int | None = None) -> str:
    formats = sys.modules.get("crm.formats")
    if formats is not None:
        return formats.number(value, digits)
    return f"{value:,.{digits}f}" if digits is not None else f"{value:,}"


DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {
    ",": _l("comma-separated"),
    ";": _l("semicolon-separated"),
    "\t": _l("tab-separated"),
    "|": _l("separated by vertical bars"),
}
_SNIFF_LINES = 50
# Bytes that never appear in a text export; finding them means it is not one.
_BINARY_SIGNATURES = {
    b"%PDF": _l("a PDF document"),
    b"\x89PNG": _l("a PNG image"),
    b"\xff\xd8\xff": _l("a JPEG image"),
    b"GIF8": _l("a GIF image"),
    b"\x1f\x8b": _l("a gzip archive"),
    b"Rar!": _l("a RAR archive"),
    b"7z\xbc\xaf": _l("a 7-Zip archive"),
}
_ZIP, _OLE2 = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
WORKBOOK_FORMATS = {
    "xlsx": _l("Excel workbook"),
    "xls": _l("Excel 97-2003 workbook"),
    "ods": _l("OpenDocument spreadsheet"),
}


# Label (shown, and kept on the batch) -> Python codec.
ENCODINGS = {
    "UTF-8": "utf-8",
    "UTF-8 (BOM)": "utf-8-sig",
    "UTF-16": "utf-16",
    "Windows-1252": "cp1252",
    "Windows-1250": "cp1250",
    "Windows-1257": "cp1257",
    "Windows-1251": "cp1251",
}
# What a user may choose for a text file without a byte order mark.
CHOSEN_ENCODINGS = {
    "UTF-8": "UTF-8",
    "Windows-1252": "Windows-1252 (Western European)",
    "Windows-1250": "Windows-1250 (Central European)",
    "Windows-1257": "Windows-1257 (Baltic)",
    "Windows-1251": "Windows-1251 (Cyrillic)",
}
# The code page in which Windows, so Excel's plain "CSV" and older tools, writes
# text in each country; elsewhere Windows-1252.
CODE_PAGES = {
    **dict.fromkeys(("PL", "CZ", "SK", "HU", "RO", "SI", "HR"), "Windows-1250"),
    **dict.fromkeys(("LT", "LV", "EE"), "Windows-1257"),
    **dict.fromkeys(("BG", "UA", "RS", "MK"), "Windows-1251"),
}
_LEGACY = tuple(label for label in CHOSEN_ENCODINGS if label.startswith("Windows"))


@dataclass(frozen=True)
class Limits:
    """What one import may hold (``config``: IMPORT_MAX_ROWS and the rest)."""

    rows: int = 250_000
    columns: int = 200
    cell_chars: int = 32_767
    cells: int = 10_000_000
    decompressed_bytes: int = 512 * 1024 * 1024
    compression_ratio: int = 200


NO_LIMITS = Limits(10**12, 10**9, 10**12, 10**15, 10**15, 10**9)
# Members smaller than this are never too compressed (XML compresses well).
_RATIO_FLOOR = 1024 * 1024
# The <dimension> tag is written before the rows, in the first bytes of a sheet.
_DIMENSION_WINDOW = 64 * 1024
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]*)(\d*)(?::([A-Z]+)(\d+))?"')
_SHEET_MEMBER = re.compile(r"xl/worksheets/[^/]+\.xml")


def code_page(country: str | None) -> str:
    return CODE_PAGES.get(country or "", "Windows-1252")


class ImportFileError(ValueError):
    """The file cannot be read as a table; the message says why, for the user."""


def _not_a_workbook() -> str:  # one message, said in three places
    return _("This file is a ZIP archive but not an Excel workbook (.xlsx) that can be read.")


@dataclass
class Table:
    """A file read as rows: ``rows`` are ``(line_number, cells)``; line 1 is the header."""

    file_format: str
    headers: list[str]
    rows: list[tuple[int, list]] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    # Data rows in the whole file; None when ``max_rows`` stopped the reading.
    row_count: int | None = None


def describe(file_format: str, encoding: str | None, delimiter: str | None) -> str:
    """How a file was read, for the user: "CSV, Windows-1250, semicolon-separated"."""
    if file_format in WORKBOOK_FORMATS:
        return _("%(format)s (first sheet)", format=_(WORKBOOK_FORMATS[file_format]))
    named = DELIMITER_NAMES.get(delimiter or "")
    separated = _(named) if named else _("separated by “%(delimiter)s”", delimiter=delimiter)
    return f"CSV, {encoding or _('unknown encoding')}, {separated}"


# -- format and encoding ------------------------------------------------------


def read_table(
    data: bytes,
    max_rows: int | None = None,
    encoding: str | None = None,
    legacy: str = "Windows-1252",
    limits: Limits = NO_LIMITS,
) -> Table:
    """Read an uploaded file; raise ImportFileError with a clear message if it is not a table.

    A text file is read in ``encoding`` (a label of ENCODINGS) when given, else
    in the one ``decode`` detects, ``legacy`` being the 8-bit encoding expected.
    """
    if not data or not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(_ZIP):
        check_archive(data, limits)
    if data.startswith((_ZIP, _OLE2)):
        return _read_workbook(data, max_rows, limits)
    for signature, what in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise ImportFileError(
                _(
                    "This file is %(what)s, not a spreadsheet. Upload a CSV file or an Excel "
                    "workbook (.xlsx).",
                    what=_(what),
                )
            )
    text, encoding = decode(data, encoding, legacy)
    return _read_csv(text, encoding, max_rows, limits)


# -- limits -------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{_number(size / 1024 / 1024, 0)} MB"


def check_archive(data: bytes, limits: Limits) -> None:
    """Refuse a workbook (a ZIP: .xlsx, .ods) that would unpack to more than an import
    may hold, before any of it is unpacked: from the archive's directory, the total
    and per-member sizes and compression ratios (a "zip bomb" of shared strings or
    padding); from each sheet's first bytes, the size its ``<dimension>`` states (one
    cell at XFD1048576 makes a reader allocate the whole range). Both can lie: the
    child process's memory limit (``staging``) bounds what they hide."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise ImportFileError(_not_a_workbook()) from error
    with archive:
        members = archive.infolist()
        total = sum(member.file_size for member in members)
        if total > limits.decompressed_bytes:
            raise ImportFileError(
                _(
                    "This workbook unpacks to %(size)s, more than an import may hold "
                    "(%(limit)s). Split it into smaller files, or save it as CSV.",
                    size=_megabytes(total),
                    limit=_megabytes(limits.decompressed_bytes),
                )
            )
        for member in members:
            ratio = member.file_size // max(1, member.compress_size)
            if member.file_size > _RATIO_FLOOR and ratio > limits.compression_ratio:
                raise ImportFileError(
                    _(
                        "This workbook is compressed beyond what a spreadsheet gives "
                        "(%(member)s unpacks %(ratio)s times larger): it cannot be "
                        "imported. Save it again from your spreadsheet program.",
                        member=member.filename,
                        ratio=_number(ratio),
                    )
                )
        for member in members:
            if _SHEET_MEMBER.fullmatch(member.filename):
                _check_dimension(archive, member, limits)


def _check_dimension(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> None:
    try:
        with archive.open(member) as stream:
            head = stream.read(_DIMENSION_WINDOW)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise ImportFileError(_not_a_workbook()) from error
    found = _DIMENSION.search(head)
    if found is None:
        return
    first_column, first_row, last_column, last_row = (g.decode() for g in found.groups(b""))
    rows = int(last_row or first_row or 1)
    columns = column_number(last_column or first_column or "A")
    check_size(rows - 1, columns, limits)
    if rows * columns > limits.cells:
        raise ImportFileError(
            _(
                "The sheet states %(rows)s rows of %(columns)s columns, more cells than an "
                "import may hold (%(limit)s). Delete the empty rows and columns after "
                "the table, or copy the table into a new workbook.",
                rows=_number(rows),
                columns=_number(columns),
                limit=_number(limits.cells),
            )
        )


def column_number(letters: str) -> int:
    """'A' -> 1, 'XFD' -> 16384."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def check_size(rows: int, columns: int, limits: Limits) -> None:
    """Refuse ``rows`` data rows or ``columns`` columns past the limits."""
    if rows > limits.rows:
        raise ImportFileError(
            _(
                "The file has %(rows)s rows, more than an import may hold (%(limit)s). "
                "Split it into smaller files, or delete the empty rows after the table.",
                rows=_number(rows),
                limit=_number(limits.rows),
            )
        )
    if columns > limits.columns:
        raise ImportFileError(
            _(
                "The file has %(columns)s columns, more than an import may hold "
                "(%(limit)s). Delete the columns that are not imported, or the empty "
                "columns after the table.",
                columns=_number(columns),
                limit=_number(limits.columns),
            )
        )


def _check_row(line: int, cells: list, rows: int, limits: Limits) -> None:
    if rows > limits.rows or len(cells) > limits.columns:
        check_size(rows, len(cells), limits)
    for cell in cells:
        if isinstance(cell, str) and len(cell) > limits.cell_chars:
            raise ImportFileError(
                _(
                    "Line %(line)s: a cell holds %(size)s characters, more than an import "
                    "takes (%(limit)s).",
                    line=line,
                    size=_number(len(cell)),
                    limit=_number(limits.cell_chars),
                )
            )


def decode(
    data: bytes, encoding: str | None = None, legacy: str = "Windows-1252"
) -> tuple[str, str]:
    """The file's text and the label of the encoding it was read in.

    A byte order mark decides; else ``encoding`` if given; else UTF-8 if the
    bytes are valid UTF-8 (other encodings seldom are); else the 8-bit code
    page ``legacy``, unless it reads clearly worse than another one (see
    ``_misreadings``).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["UTF-8 (BOM)"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["UTF-16"]  # Excel's "Unicode text" export
    elif encoding is not None:
        candidates = [encoding]
    else:
        candidates = list(dict.fromkeys(["UTF-8", legacy, *_LEGACY]))
    if b"\x00" in data[:4096] and candidates != ["UTF-16"]:
        raise ImportFileError(
            _(
                "This file is not a spreadsheet or text export (it holds binary data). "
                "Upload a CSV file or an Excel workbook (.xlsx)."
            )
        )
    # The first encoding that reads the file is kept whole; the others only
    # leave their score, so one copy of a large file is held, not four.
    first: tuple[str, str] | None = None
    others: list[tuple[int, str]] = []
    for label in candidates:
        try:
            text = data.decode(ENCODINGS[label])
        except UnicodeDecodeError:
            continue
        if first is None:
            first = (text, label)
            if label.startswith("UTF"):
                break
        else:
            others.append((_misreadings(text), label))
    if first is None and encoding is not None:
        raise ImportFileError(
            _(
                "The file cannot be read as %(encoding)s: choose another encoding.",
                encoding=encoding,
            )
        )
    if first is None:
        raise ImportFileError(
            _(
                "The file's text encoding could not be recognised (it is none of "
                '%(encodings)s). Save it again as "CSV UTF-8" and upload it again.',
                encodings=", ".join(candidates),
            )
        )
    text, label = first
    better = _clearly_better(_misreadings(text), others) if others else None
    if better is not None:
        text, label = data.decode(ENCODINGS[better]), better
    if _looks_binary(text):
        raise ImportFileError(
            _(
                "This file is not a spreadsheet or text export (it holds control "
                "characters). Upload a CSV file or an Excel workbook (.xlsx)."
            )
        )
    return text, label


def _clearly_better(expected: int, others: list[tuple[int, str]]) -> str | None:
    """The encoding to read instead of the expected one, whose reading left
    ``expected`` misreadings: one with a quarter of them or fewer, when there
    are at least 5. An odd "®" does not switch a file, a Polish file read as
    Windows-1252 ("Sp³ka") does."""
    score, label = min(others, key=lambda other: other[0])  # the first of equals
    return label if expected >= 5 and score * 4 <= expected else None


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _misreadings(text: str) -> int:
    """Characters right after a letter that no language writes there: a symbol
    (Polish "ł" read as Windows-1252 is "³") or a letter of another script
    ("é" read as Windows-1251 is "щ"). The first 50,000 characters tell enough."""
    sample = text[:50_000]
    count = 0
    for match in _NON_ASCII.finditer(sample):
        start = match.start()
        before = sample[start - 1] if start else ""
        if not before.isalpha():
            continue
        char = match.group()
        if not char.isalpha():
            count += 1
        else:
            script, previous = _script(char), _script(before)
            count += bool(script and previous and script != previous)
    return count


@lru_cache(maxsize=1024)
def _script(char: str) -> str | None:
    word = unicodedata.name(char, "").split(" ")[0]
    return word if word in ("LATIN", "CYRILLIC", "GREEK") else None


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n")
    return controls > max(2, len(sample) // 1000)


# -- CSV ----------------------------------------------------------------------


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, and most regular, columns."""
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, regular = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (regular, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(text: str, encoding: str, max_rows: int | None, limits: Limits) -> Table:
    delimiter = detect_delimiter(text)
    # A cell longer than the limit is refused by _check_row, which says so; the
    # csv module's own limit (131,072 by default) would call the file "malformed".
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list]] = []
    headers: list[str] | None = None
    complete = True
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            _check_row(start, record, len(rows) + 1, limits)
            if headers is None:
                headers = [cell.strip() for cell in record]
                continue
            rows.append((start, [cell.strip() for cell in record]))
            if max_rows is not None and len(rows) >= max_rows:
                complete = False
                break
    except csv.Error as error:
        raise ImportFileError(
            _("Line %(line)s: the CSV file is malformed (%(error)s).", line=line, error=error)
        ) from error
    row_count = len(rows) if complete else None
    return _checked(Table("csv", headers or [], rows, encoding, delimiter, row_count))


# -- workbooks (.xlsx, .xls, .ods) -------------------------------------------


def _read_workbook(data: bytes, max_rows: int | None, limits: Limits = NO_LIMITS) -> Table:
    """The first sheet of an .xlsx, .xls or .ods file, read by calamine (Rust): a
    100,000-row sheet takes about a second, where openpyxl took 10 to 15. Cells
    come as str, int, float, bool, date, datetime, time or timedelta; empty
    cells as "". Rows are numbered as in the sheet: ``iter_rows`` starts at the
    sheet's first row even when the data starts lower (tests/imports/test_reading.py
    pins this)."""
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.CalamineError as error:
        raise ImportFileError(
            _not_a_workbook()
            if data.startswith(_ZIP)
            # Excel also writes a workbook protected by a password in this container.
            else _(
                "This file is a Word document or a workbook protected by a password, not "
                "a spreadsheet that can be read. Save it without a password, as .xlsx or CSV."
            )
        ) from error
    try:
        if not workbook.sheet_names:
            raise ImportFileError(_("The workbook has no sheet."))
        try:
            sheet = workbook.get_sheet_by_index(0)
        except python_calamine.CalamineError as error:
            raise ImportFileError(
                _("The workbook's first sheet cannot be read (%(error)s).", error=error)
            ) from error
        # The sheet as calamine sized it, whatever its <dimension> said.
        check_size(sheet.height - 1, sheet.width, limits)
        headers: list[str] | None = None
        rows: list[tuple[int, list]] = []
        complete = True
        for number, values in enumerate(sheet.iter_rows(), start=1):
            cells = [_xlsx_cell(v) for v in values]
            if not any(c != "" for c in cells):
                continue
            _check_row(number, cells, len(rows) + 1, limits)
            if headers is None:
                headers = [str(c) for c in cells]
                continue
            rows.append((number, cells))
            if max_rows is not None and len(rows) >= max_rows:
                complete = False
                break
    finally:
        workbook.close()
    file_format = _workbook_format(data)
    return _checked(
        Table(file_format, headers or [], rows, row_count=len(rows) if complete else None)
    )


def _workbook_format(data: bytes) -> str:
    if data.startswith(_OLE2):
        return "xls"
    # An OpenDocument file starts with its uncompressed "mimetype" entry.
    return "ods" if b"opendocument.spreadsheet" in data[30:100] else "xlsx"


def _xlsx_cell(value):
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _checked(table: Table) -> Table:
    while table.headers and not table.headers[-1]:
        table.headers.pop()
    if not table.headers:
        raise ImportFileError(
            _("The file has no header row: the first line must name the columns.")
        )
    if len([h for h in table.headers if h]) < 2 and table.file_format == "csv":
        raise ImportFileError(
            _(
                "Only one column was found. The file must be a table whose columns are "
                "separated by commas, semicolons or tabs, with a header row."
            )
        )
    seen: dict[str, int] = {}
    for index, header in enumerate(table.headers):
        if not header:
            table.headers[index] = f"Column {index + 1}"
        key = normalise_header(table.headers[index])
        if key in seen:
            raise ImportFileError(
                _(
                    'Two columns have the same name, "%(name)s"; rename one of them.',
                    name=table.headers[index],
                )
            )
        seen[key] = index
    if not table.rows:
        raise ImportFileError(_("The file has a header row but no data rows."))
    return table


# -- names and numbers ---------------------------------------------------------


# Letters NFKD does not take apart, and the marks it leaves once it has.
_LETTERS = str.maketrans({"ł": "l", "ø": "o", "ß": "ss", "đ": "d"})
_COMBINING = re.compile(
    "[" + "".join(chr(c) for c in range(0x300, 0x10000) if unicodedata.combining(chr(c))) + "]"
)
# Letters of every script stay (a Bulgarian "Име" folds to "име", not to nothing).
_NOT_FOLDED = re.compile(r"[\W_]")
_NOT_WORD = re.compile(r"[^\w]+")
_NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z]")


def _unaccented(text: str) -> str:
    """Casefolded, without accents; ASCII text (most cells) takes the short way."""
    text = text.casefold()
    if text.isascii():
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).translate(_LETTERS)


@lru_cache(maxsize=8192)
def fold(value: str) -> str:
    """Lower case, no accents, letters and digits only: 'Razón social' -> 'razonsocial',
    'Град' -> 'град'.

    Cached: it reads headers and choice cells, a few distinct values per file.
    """
    return _NOT_FOLDED.sub("", _unaccented(value))


def normalise_header(value: str) -> str:
    return fold(value)


def normalise_name(value: str | None) -> str:
    """Matching key of a name or city: case, accents, punctuation and spacing ignored."""
    if not value:
        return ""
    text = _unaccented(str(value)).replace("&", " and ")
    return " ".join(_NOT_WORD.sub(" ", text).split())


def normalise_identifier(value: str | None) -> str:
    """Matching key of a registration id: 'fr 123.456-789' -> 'FR123456789'."""
    if not value:
        return ""
    return _NOT_IDENTIFIER.sub("", str(value)).upper()


_SPACES = "\u00a0\u202f\u2009 '’"
_NO_SPACES = str.maketrans("", "", _SPACES)
_CURRENCY = re.compile(r"^(€|eur|euro|euros)\s*|\s*(€|eur|euro|euros)$", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?[\d.,]*\d[\d.,]*")
_COMMA_THOUSANDS = re.compile(r",\d{3}$")
_DOT_THOUSANDS = re.compile(r"\.\d{3}$")


def detect_decimal_mark(values: Iterable, hint: str | None = None) -> str:
    """',' or '.': which one the file's numbers use as decimal mark.

    A value with both marks settles it (the last one is decimal); one mark
    followed by other than three digits is decimal ('12,5'); otherwise the
    hint wins (a semicolon-separated file usually writes decimal commas).
    """
    comma_votes = dot_votes = 0
    for value in values:
        if not isinstance(value, str):
            continue
        text = _strip_number(value)
        if not text:
            continue
        has_comma, has_dot = "," in text, "." in text
        if has_comma and has_dot:
            if text.rfind(",") > text.rfind("."):
                comma_votes += 1
            else:
                dot_votes += 1
        elif has_comma and not _COMMA_THOUSANDS.search(text) or text.count(".") > 1:
            comma_votes += 1
        elif has_dot and not _DOT_THOUSANDS.search(text) or text.count(",") > 1:
            dot_votes += 1
    if comma_votes != dot_votes:
        return "," if comma_votes > dot_votes else "."
    return hint or "."


def _strip_number(text: str) -> str:
    text = text.strip()
    if text and not (text[0].isdigit() and text[-1].isdigit()):
        text = _CURRENCY.sub("", text)  # a currency sign or word at either end
    return text.translate(_NO_SPACES)


def parse_decimal(value, decimal_mark: str = ".") -> Decimal | None:
    """A number written with either convention (1.234,56 / 1,234.56 / 1 234,56).

    None for a blank cell; ValueError when it is not a number or its
    thousands groups are wrong ('1,23,4').
    """
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError("not a number")
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a number")
        return Decimal(repr(value))
    text = str(value).strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():  # most cells: no sign, no separators
        return Decimal(text)
    negative = text.startswith("(") and text.endswith(")")
    text = _strip_number(text.strip("()"))
    thousands = "." if decimal_mark == "," else ","
    if not _NUMBER.fullmatch(text) or text.count(decimal_mark) > 1:
        raise ValueError("not a number")
    sign = ""
    if text[0] in "+-":
        sign, text = ("-" if text[0] == "-" else ""), text[1:]
    whole, _, fraction = text.partition(decimal_mark)
    if thousands in fraction:
        raise ValueError("not a number")
    if thousands in whole:
        groups = whole.split(thousands)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise ValueError("misplaced thousands separator")
        whole = "".join(groups)
    try:
        number = Decimal(f"{sign}{whole or '0'}.{fraction or '0'}")
    except InvalidOperation as error:
        raise ValueError("not a number") from error
    return -number if negative else number


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d/%m/%y", "%d.%m.%y")


def parse_date(value) -> date | None:
    """ISO or day-first dates (the alliance writes 31/12/2025 and 31.12.2025)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    text = text.split("T")[0].split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date")


_TRUE = {"1", "yes", "y", "true", "x", "oui", "si", "sí", "tak", "ja", "ano", "igen", "da", "sim"}
_FALSE = {"0", "no", "n", "false", "non", "nie", "nein", "ne", "nem", "nu", "nao", "não", "-"}


def parse_bool(value) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not yes/no")


def cell_text(value) -> str:
    """A cell as text (XLSX cells may be numbers or dates)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def iter_column(rows: Iterable[tuple[int, list]], index: int) -> Iterator:
    for _line, cells in rows:
        if index < len(cells):
            yield cells[index]
