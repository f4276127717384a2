import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from crm.exports import csv_bytes, xlsx_bytes


def test_csv_neutralises_formulas_and_keeps_text():
    body = csv_bytes(["name"], [["=HYPERLINK(1)"], ["+33 1"], ["@SUM"], ["-2"], ["Ana"]])
    text = body.decode("utf-8-sig").splitlines()
    assert text == ["name", "'=HYPERLINK(1)", "'+33 1", "'@SUM", "'-2", "Ana"]


def test_xlsx_round_trips_with_neutralised_cells():
    body = xlsx_bytes(
        ["name", "employees", "joined", "turnover"],
        [["=cmd", 12, date(2024, 3, 1), Decimal("1234.50")], ["Acme", None, None, None]],
    )
    sheet = load_workbook(io.BytesIO(body)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [
        ["name", "employees", "joined", "turnover"],
        ["'=cmd", 12, datetime(2024, 3, 1), 1234.5],  # a date cell, shown as 2024-03-01
        ["Acme", None, None, None],
    ]
    assert sheet["C2"].number_format == "yyyy-mm-dd"
