import io

from openpyxl import load_workbook

from crm.exports import csv_bytes, xlsx_bytes


def test_csv_neutralises_formulas_and_keeps_text():
    body = csv_bytes(["name"], [["=HYPERLINK(1)"], ["+33 1"], ["@SUM"], ["-2"], ["Ana"]])
    text = body.decode("utf-8-sig").splitlines()
    assert text == ["name", "'=HYPERLINK(1)", "'+33 1", "'@SUM", "'-2", "Ana"]


def test_xlsx_round_trips_with_neutralised_cells():
    body = xlsx_bytes(["name", "employees"], [["=cmd", 12], ["Acme", None]])
    sheet = load_workbook(io.BytesIO(body)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [["name", "employees"], ["'=cmd", 12], ["Acme", None]]
