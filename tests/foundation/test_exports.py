import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from crm.exports import csv_bytes, xlsx_bytes


def test_csv_neutralises_formulas_and_keeps_text():
    body = csv_bytes(["name"], [["=HYPERLINK(1)"], ["+33 1"], ["@SUM"], ["-2"], ["Ana"]])
    text = body.decode("utf-8-sig").splitlines()
    assert text == ["name", "'=HYPERLINK(1)", "'+33 1", "'@SUM", "'-2", "Ana"]


def test_xlsx_round_trips_with_text_cells_that_are_never_formulas():
    body = xlsx_bytes(
        ["name", "employees", "joined", "turnover"],
        [["=cmd", 12, date(2024, 3, 1), Decimal("1234.50")], ["Acme", None, None, None]],
    )
    sheet = load_workbook(io.BytesIO(body)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [
        ["name", "employees", "joined", "turnover"],
        ["=cmd", 12, datetime(2024, 3, 1), 1234.5],  # a date cell, shown as 2024-03-01
        ["Acme", None, None, None],
    ]
    assert sheet["C2"].number_format == "yyyy-mm-dd"


FORMULA_LIKE = ['=HYPERLINK("http://evil","x")', "+33 1 23", "@SUM(A1)", "-2+3", "\tTAB", "=1+1"]


def test_xlsx_keeps_formula_like_text_exactly_and_writes_no_formula():
    body = xlsx_bytes(["value"], [[v] for v in FORMULA_LIKE])
    # Read as written: openpyxl gives a formula cell the type "f".
    sheet = load_workbook(io.BytesIO(body)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == FORMULA_LIKE
    assert {c.data_type for c in cells} == {"s"}
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_dates_excel_cannot_hold_are_written_as_iso_text():
    body = xlsx_bytes(
        ["start", "end", "at"],
        [
            [date(1, 1, 1), date(1899, 12, 31), datetime(1850, 6, 1, 12, 30)],
            [date(1900, 1, 1), date(2100, 12, 31), datetime(2024, 3, 1, 9, 0)],
        ],
    )
    sheet = load_workbook(io.BytesIO(body)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert rows == [
        ["0001-01-01", "1899-12-31", "1850-06-01T12:30:00"],
        [datetime(1900, 1, 1), datetime(2100, 12, 31), datetime(2024, 3, 1, 9, 0)],
    ]
    csv_rows = csv_bytes(["start"], [[date(1, 1, 1)]]).decode("utf-8-sig").splitlines()
    assert csv_rows == ["start", "0001-01-01"]


def test_a_csv_download_streams_row_by_row(app):
    """The first piece leaves after at most CSV_CHUNK_ROWS rows were read: the
    file is never built whole (the rows come from a cursor read with yield_per)."""
    from crm.exports import CSV_CHUNK_ROWS, download

    read = []

    def rows():
        for number in range(10 * CSV_CHUNK_ROWS):
            read.append(number)
            yield [number, f"=cell {number}"]

    with app.test_request_context("/export.csv"):
        response = download("csv", "big", ["n", "text"], rows)
        assert response.is_streamed and response.content_length is None
        pieces = iter(response.response)
        first = next(pieces)
        assert len(read) <= CSV_CHUNK_ROWS + 1
        body = first + b"".join(pieces)
    lines = body.decode("utf-8-sig").splitlines()
    assert len(read) == 10 * CSV_CHUNK_ROWS and len(lines) == 10 * CSV_CHUNK_ROWS + 1
    assert lines[1] == "0,'=cell 0" and lines[-1].startswith(f"{10 * CSV_CHUNK_ROWS - 1},")
