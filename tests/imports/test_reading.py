"""Reading files as other tools write them: format, encoding, delimiter, numbers, headers."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from crm.imports import reading
from crm.imports.kinds import CONTACTS, ORGANISATIONS, PARTICIPATIONS, PROJECTS, suggest_mapping
from crm.imports.reading import ImportFileError
from crm.models import ImportBatch, Organisation


@pytest.mark.parametrize(
    ("data", "delimiter", "encoding"),
    [
        (b"Name,City\nAcme,Lyon\n", ",", "UTF-8"),
        ("Name;City\nÉcole;Liège\n".encode(), ";", "UTF-8"),
        ("\ufeffName;City\nÉcole;Liège\n".encode(), ";", "UTF-8 (BOM)"),
        ("Name\tCity\nŁódź Tech\tŁódź\n".encode(), "\t", "UTF-8"),
        ("Name;City\nÉcole;Liège\n".encode("cp1252"), ";", "Windows-1252"),
        ("Name\tCity\nŁódź Tech\tŁódź\n".encode("utf-16"), "\t", "UTF-16"),
        (b'Name,City,Note\n"Acme, Inc.",Lyon,"a; b"\n', ",", "UTF-8"),
    ],
)
def test_delimiter_and_encoding_are_detected(data, delimiter, encoding):
    table = reading.read_table(data)
    assert (table.delimiter, table.encoding) == (delimiter, encoding)
    assert len(table.headers) >= 2 and len(table.rows) == 1
    assert table.rows[0][0] == 2  # line numbers count the header as line 1


def test_windows_1252_text_is_decoded_right():
    table = reading.read_table("Nom;Ville\nSociété Générale;Besançon\n".encode("cp1252"))
    assert table.rows[0][1] == ["Société Générale", "Besançon"]


POLISH = "Nazwa;Miasto\n" + "".join(f"Spółka Zakład {i};Białystok\n" for i in range(3))
FRENCH = "Nom;Ville\nSociété Générale Développement;Besançon\n"
BULGARIAN = "Име;Град\nСофия Тех;София\n"
LITHUANIAN = "Pavadinimas;Miestas\nŠiaulių įmonė;Šiauliai\n"
CZECH = "Název;Město\nČeská zbrojovka;Uherský Brod\n"


@pytest.mark.parametrize(
    ("text", "written_in", "legacy", "read_as"),
    [
        # The association's own code page reads its own files.
        (POLISH, "cp1250", "Windows-1250", "Windows-1250"),
        (CZECH, "cp1250", "Windows-1250", "Windows-1250"),
        (BULGARIAN, "cp1251", "Windows-1251", "Windows-1251"),
        (LITHUANIAN, "cp1257", "Windows-1257", "Windows-1257"),
        (FRENCH, "cp1252", "Windows-1252", "Windows-1252"),
        # Another code page wins only when the expected one reads clearly worse:
        # "Sp³ka" (Polish in Windows-1252), "Sociщtщ" (French in Windows-1251).
        (POLISH, "cp1250", "Windows-1252", "Windows-1250"),
        (FRENCH, "cp1252", "Windows-1251", "Windows-1252"),
    ],
)
def test_the_likeliest_code_page_is_chosen(text, written_in, legacy, read_as):
    table = reading.read_table(text.encode(written_in), legacy=legacy)
    assert table.encoding == read_as
    assert [table.headers, *(cells for _line, cells in table.rows)] == [
        line.split(";") for line in text.splitlines()
    ]


def test_a_few_odd_symbols_do_not_switch_the_code_page():
    # "®" after a letter reads as "Ž" in Windows-1250: not reason enough to leave 1252.
    data = "Name;City\nAcme®;Lyon\nBrand®;Paris\n".encode("cp1252")
    assert reading.read_table(data).encoding == "Windows-1252"


def test_each_country_has_its_code_page():
    assert [reading.code_page(c) for c in ("PL", "RO", "BG", "LT", "FR", "ES", None)] == [
        "Windows-1250",
        "Windows-1250",
        "Windows-1251",
        "Windows-1257",
        "Windows-1252",
        "Windows-1252",
        "Windows-1252",
    ]


def test_a_chosen_encoding_is_used_as_is_or_refused_clearly():
    data = BULGARIAN.encode("cp1251")
    assert reading.read_table(data).encoding == "Windows-1252"  # guessed wrong ...
    table = reading.read_table(data, encoding="Windows-1251")  # ... and put right
    assert table.rows[0][1] == ["София Тех", "София"]
    with pytest.raises(ImportFileError, match="cannot be read as Windows-1250"):
        reading.read_table(POLISH.encode("cp1250") + b"\x98", encoding="Windows-1250")


def test_line_numbers_skip_blank_lines_and_count_quoted_newlines():
    data = b'Name,Note\nA,"one\ntwo"\n\nB,x\n'
    table = reading.read_table(data)
    assert [line for line, _cells in table.rows] == [2, 5]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n...", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "protected by a password"),
        (b"PK\x03\x04not really a workbook", "not an Excel workbook"),
        (b"\x00\x01\x02\x03binary\x00stuff", "binary"),
        (b"Name;City\nAcme;Lyon\n" + b"\x81\x98 broken", "encoding could not be recognised"),
        (b"just one column\nvalue\n", "Only one column"),
        (b"Name,City\n", "no data rows"),
        (b"Name,Name\nA,B\n", "same name"),
    ],
)
def test_files_that_are_not_tables_get_a_clear_message(data, message):
    with pytest.raises(ImportFileError, match=message):
        reading.read_table(data)


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("1.234,56", ",", Decimal("1234.56")),
        ("1,234.56", ".", Decimal("1234.56")),
        ("1 234,56", ",", Decimal("1234.56")),
        ("1\u00a0234\u00a0567", ",", Decimal("1234567")),
        ("1'234.50", ".", Decimal("1234.50")),
        ("12,5", ",", Decimal("12.5")),
        ("€ 2.000.000", ",", Decimal("2000000")),
        ("2,000,000 EUR", ".", Decimal("2000000")),
        ("-3", ".", Decimal("-3")),
        ("", ".", None),
    ],
)
def test_numbers_in_both_conventions(text, mark, expected):
    assert reading.parse_decimal(text, mark) == expected


@pytest.mark.parametrize("text", ["12a", "1,23,4", "1.2.3,4,5", "--1", "n/a", "1,5,6"])
def test_bad_numbers_are_refused(text):
    with pytest.raises(ValueError):
        reading.parse_decimal(text, ",")


@pytest.mark.parametrize(
    ("values", "hint", "mark"),
    [
        (["1.234,56", "12"], ".", ","),
        (["1,234.56", "12"], ",", "."),
        (["12,5", "3"], ".", ","),
        (["1.234.567"], ".", ","),
        (["1,234", "5,678"], ",", ","),  # ambiguous: the file's habit (hint) decides
        (["1,234", "5,678"], ".", "."),
    ],
)
def test_decimal_mark_is_detected_from_the_column(values, hint, mark):
    assert reading.detect_decimal_mark(values, hint) == mark


def test_dates_and_yes_no_cells():
    assert reading.parse_date("31/12/2025") == date(2025, 12, 31)
    assert reading.parse_date("31.12.2025") == date(2025, 12, 31)
    assert reading.parse_date("2025-12-31T00:00:00") == date(2025, 12, 31)
    assert reading.parse_bool("Oui") is True and reading.parse_bool("nie") is False
    with pytest.raises(ValueError):
        reading.parse_date("next week")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["Nom", "Ville", "SIRET", "TVA"],
            {"name": "Nom", "city": "Ville", "registration_id": "SIRET", "vat_id": "TVA"},
        ),
        (
            ["Razón social", "Ciudad", "CIF", "Empleados"],
            {
                "name": "Razón social",
                "city": "Ciudad",
                "registration_id": "CIF",
                "employees": "Empleados",
            },
        ),
        (
            ["Nazwa", "Miasto", "NIP", "Liczba pracowników"],
            {
                "name": "Nazwa",
                "city": "Miasto",
                "registration_id": "NIP",
                "employees": "Liczba pracowników",
            },
        ),
        (
            ["Název", "Město", "IČO", "DIČ"],
            {"name": "Název", "city": "Město", "registration_id": "IČO", "vat_id": "DIČ"},
        ),
        (
            ["Nombre", "Razón social", "VAT"],
            {"name": "Nombre", "legal_name": "Razón social", "vat_id": "VAT"},
        ),
        (
            ["Organisation name", "Town", "Company number", "Turnover", "Website"],
            {
                "name": "Organisation name",
                "city": "Town",
                "registration_id": "Company number",
                "turnover_eur": "Turnover",
                "website": "Website",
            },
        ),
    ],
)
def test_suggested_mapping_for_organisation_headers(headers, expected):
    assert suggest_mapping(ORGANISATIONS, headers) == expected


def test_suggested_mapping_for_the_other_kinds():
    contacts = suggest_mapping(CONTACTS, ["Prénom", "Nom", "Courriel", "Entreprise", "SIRET"])
    assert contacts == {
        "first_name": "Prénom",
        "last_name": "Nom",
        "email": "Courriel",
        "organisation_name": "Entreprise",
        "organisation_registration_id": "SIRET",
    }
    projects = suggest_mapping(
        PROJECTS, ["Programa", "Acrónimo", "Título", "Número de contrato", "Estado", "Presupuesto"]
    )
    assert projects == {
        "programme_code": "Programa",
        "acronym": "Acrónimo",
        "title": "Título",
        "grant_number": "Número de contrato",
        "status": "Estado",
        "total_budget": "Presupuesto",
    }
    participations = suggest_mapping(PARTICIPATIONS, ["Grant number", "Participant", "Role"])
    assert participations == {
        "project_grant_number": "Grant number",
        "organisation_name": "Participant",
        "role": "Role",
    }


def _workbook(rows: int, write_only: bool = False, dimension: str | None = None) -> bytes:
    """A workbook of ``rows`` data rows; write-only workbooks state no dimension, and
    ``dimension`` replaces the stated one (some tools write a wrong one)."""
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet() if write_only else book.active
    sheet.append(["Name", "City"])
    for i in range(rows):
        sheet.append([f"Firm {i}", "Lyon"])
    buffer = io.BytesIO()
    book.save(buffer)
    if dimension is None:
        return buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(
                    f'<dimension ref="A1:B{rows + 1}" />'.encode(),
                    f'<dimension ref="{dimension}" />'.encode(),
                )
            target.writestr(item, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [_workbook(30), _workbook(30, write_only=True), _workbook(30, dimension="A1")],
    ids=["stated", "not-stated", "wrong"],
)
def test_a_workbook_is_read_whole_whatever_size_it_states(data):
    table = reading.read_table(data)
    assert (table.file_format, table.row_count, len(table.rows)) == ("xlsx", 30, 30)
    assert [line for line, _cells in table.rows[:2]] == [2, 3]


def test_a_table_lower_in_the_sheet_keeps_the_sheets_line_numbers():
    book = Workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"] = "Name", "Founded"
    sheet["C4"], sheet["D4"] = "Acme", date(2001, 5, 17)
    sheet["C6"], sheet["D6"] = "Bolt", 1999
    buffer = io.BytesIO()
    book.save(buffer)
    table = reading.read_table(buffer.getvalue())
    assert table.headers == ["Name", "Founded"]
    assert table.rows == [(4, ["Acme", date(2001, 5, 17)]), (6, ["Bolt", 1999])]


def test_an_uploaded_workbook_gets_its_row_count_and_checks_every_row(importer):
    batch = importer.run(_workbook(30), filename="members.xlsx", commit=False)
    assert (batch.row_count, batch.created_count) == (30, 30)


FILES = Path(__file__).parent / "files"


def _ods(rows: list[list[str]]) -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice's format requires."""
    cells = "".join(
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{escape(v)}</text:p>'
            "</table:table-cell>"
            for v in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Sheet1">{cells}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def test_old_excel_and_opendocument_files_are_read_too():
    # members.xls was written by xlwt, as Excel 97-2003 saves: numbers, a date cell.
    xls = reading.read_table((FILES / "members.xls").read_bytes())
    assert xls.file_format == "xls"
    assert xls.headers == ["Nazwa", "Miasto", "NIP", "Zatrudnienie", "Data założenia"]
    assert xls.rows[0] == (2, ["Spółka Łódź", "Łódź", "PL5260001246", 12, date(2001, 5, 17)])
    ods = reading.read_table(_ods([["Nom", "Ville"], ["Société Générale", "Besançon"]]))
    assert (ods.file_format, ods.rows) == ("ods", [(2, ["Société Générale", "Besançon"])])
    assert reading.describe("xls", None, None) == "Excel 97-2003 workbook (first sheet)"
    assert reading.describe("csv", "Windows-1250", ";") == "CSV, Windows-1250, semicolon-separated"


def test_an_old_excel_file_is_imported(importer, session, tenant):
    batch_id = importer.batch_id(
        importer.upload((FILES / "members.xls").read_bytes(), filename="members.xls")
    )
    page = importer.mapping_page(batch_id).get_data(as_text=True)
    assert "Excel 97-2003 workbook (first sheet)" in page and "<td>Spółka Łódź</td>" in page
    # The association is French: a Polish NIP is no SIREN, so that column stays out.
    mapping = {"name": "Nazwa", "city": "Miasto", "employees": "Zatrudnienie"}
    assert importer.check(batch_id, mapping).status_code == 302
    assert importer.commit(batch_id).status_code == 303
    session.expire_all()
    assert session.get(ImportBatch, batch_id).status == "committed"
    names = session.scalars(select(Organisation.name).order_by(Organisation.name)).all()
    assert names == ["Spółka Łódź", "Zakład Mechaniczny"]
