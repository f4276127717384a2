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
