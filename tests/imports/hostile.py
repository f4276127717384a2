"""Hostile workbooks and text files, built in the test from a few lines of XML."""

from __future__ import annotations

import io
import zipfile

_XML = '<?xml version="1.0" encoding="UTF-8"?>'
_OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="{_PACKAGE}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OOXML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OOXML}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_OOXML}.sharedStrings+xml"/>'
    "</Types>"
)
_RELS = (
    f'{_XML}<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_RELATIONSHIP}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'{_XML}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{_RELATIONSHIP}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_RELATIONSHIP}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELATIONSHIP}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_xml(rows: str | bytes, dimension: str | None = None) -> bytes:
    """A worksheet of ``rows`` (``<row>`` elements), with ``<dimension ref=…>`` when given."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + (f'<dimension ref="{dimension}"/>' if dimension else "")
        + "<sheetData>"
    ).encode()
    body = rows.encode() if isinstance(rows, str) else rows
    return head + body + b"</sheetData></worksheet>"


def workbook(sheet: bytes, shared_strings: bytes | None = None) -> bytes:
    """An .xlsx holding ``sheet`` (and a sharedStrings part), deflated."""
    strings = shared_strings or (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" '
        b'uniqueCount="0"></sst>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", strings)
    return buffer.getvalue()


HEADER = '<row r="1">' + cell("A1", "Name") + cell("B1", "City") + "</row>"
ROW = '<row r="2">' + cell("A2", "Acme") + cell("B2", "Lyon") + "</row>"


def far_cell(dimension: str | None) -> bytes:
    """A real table and one cell at XFD1048576, the last cell a sheet may have."""
    far = '<row r="1048576">' + cell("XFD1048576", "x") + "</row>"
    return workbook(sheet_xml(HEADER + ROW + far, dimension))


def shared_strings_bomb(size: int) -> bytes:
    """A table whose one shared string is ``size`` bytes of one letter."""
    strings = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t>' + b"A" * size + b"</t></si></sst>"
    )
    rows = HEADER + '<row r="2"><c r="A2" t="s"><v>0</v></c>' + cell("B2", "Lyon") + "</row>"
    return workbook(sheet_xml(rows, "A1:B2"), strings)


def padding_bomb(size: int) -> bytes:
    """A small table in a sheet padded with ``size`` bytes of whitespace."""
    return workbook(sheet_xml((HEADER + ROW).encode() + b" " * size, "A1:B2"))


def empty_rows(count: int, dimension: bool = True) -> bytes:
    """A header, one row, then ``count`` rows whose one cell is empty."""
    rows = "".join(f'<row r="{n}">{cell(f"A{n}", "")}</row>' for n in range(3, count + 3))
    return workbook(sheet_xml(HEADER + ROW + rows, f"A1:B{count + 2}" if dimension else None))
