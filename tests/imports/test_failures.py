"""Each way an import can fail says why, answers 4xx (never 500), and writes nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from crm.models import ImportBatch, Organisation


def counts(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Organisation)),
        session.scalar(select(func.count()).select_from(ImportBatch)),
    )


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (
            b"Nom;Ville\nAcme;Lyon\n" + b"\x81\x98",  # bytes no code page we read uses
            "members.csv",
            "text encoding could not be recognised",
        ),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "members.csv", "not a spreadsheet"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "members.xlsx", "not a spreadsheet"),
        (b"PK\x03\x04" + b"\x00" * 60, "members.xlsx", "not an Excel workbook"),
        (b"", "empty.csv", "empty"),
        (b"Name,City\n", "members.csv", "no data rows"),
    ],
    ids=["wrong-encoding", "pdf", "image-named-xlsx", "broken-zip", "empty", "header-only"],
)
def test_unreadable_files_are_refused_at_upload(importer, session, data, filename, message):
    response = importer.upload(data, filename=filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(session) == (0, 0)


def test_no_file_at_all_is_a_form_error(importer, session, tenant):
    response = importer.client.post(f"/{tenant.slug}/imports", data={"kind": "organisations"})
    assert response.status_code == 422
    assert "Choose a CSV file" in response.get_data(as_text=True)
    assert counts(session) == (0, 0)


def test_unknown_kind_is_a_form_error(importer, session, tenant):
    response = importer.client.post(
        f"/{tenant.slug}/imports",
        data={"kind": "users", "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert counts(session) == (0, 0)


def test_missing_required_column_is_named_on_the_mapping_screen(importer, session, files):
    batch_id = importer.batch_id(importer.upload(files.csv([["Ville", "SIRET"], ["Lyon", "1"]])))
    page = importer.mapping_page(batch_id).get_data(as_text=True)
    assert "Ville" in page
    response = importer.check(batch_id)
    assert response.status_code == 422
    assert "Required column missing" in response.get_data(as_text=True)
    assert "Name" in response.get_data(as_text=True)
    assert session.get(ImportBatch, batch_id).status == "uploaded"
    assert counts(session)[0] == 0


def test_tampered_mapping_is_refused(importer, session, files):
    batch_id = importer.batch_id(importer.upload(files.csv([["Name", "City"], ["A", "B"]])))
    response = importer.check(batch_id, {"name": "No such column"})
    assert response.status_code == 422
    response = importer.check(batch_id, {"name": "Name", "city": "Name"})
    assert response.status_code == 422
    assert "more than one field" in response.get_data(as_text=True)
    assert counts(session)[0] == 0


def test_bad_numbers_reject_their_rows(importer, session, files):
    data = files.csv(
        [
            ["Name", "City", "Employees", "Turnover"],
            ["A", "Lyon", "twelve", "100"],
            ["B", "Lyon", "12.5", "100"],
            ["C", "Lyon", "3", "1,23,4"],
            ["D", "Lyon", "3", "1 000 000"],
        ],
        delimiter=";",
    )
    batch = importer.run(data, commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert "“twelve” is not a whole number" in reasons[2]
    assert "“12.5” is not a whole number" in reasons[3]
    assert "“1,23,4” is not a number" in reasons[4]
    assert set(reasons) == {2, 3, 4}
    assert importer.commit(batch.id).status_code == 303
    assert counts(session)[0] == 0


def test_duplicate_rows_within_the_file_are_rejected(importer, session, files):
    data = files.csv(
        [
            ["Name", "City", "Registration id"],
            ["Acme", "Lyon", "732 829 320"],
            ["Acme SARL", "Paris", "732829320"],  # same registration id, written differently
            ["Beta", "Lyon", ""],
            ["BETA", "lyon", ""],  # same name and city
            ["Gamma", "Lyon", "945548550"],
            ["Gamma", "Lyon", "901002154"],  # same name and city, but told apart by their ids
        ]
    )
    batch = importer.run(data, commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert reasons == {
        3: "Duplicate of line 2 (same registration id).",
        5: "Duplicate of line 4 (same name and city).",
    }
    importer.commit(batch.id)
    assert counts(session)[0] == 0


def test_a_failed_dry_run_shows_the_error_without_500(importer, session, files, tenant):
    """A stored file that no longer reads (one uploaded before files were staged,
    read at its dry run)."""
    batch_id = importer.batch_id(importer.upload(files.csv([["Name", "City"], ["A", "B"]])))
    batch = session.get(ImportBatch, batch_id)
    batch.content, batch.staged = b"%PDF-1.4", None
    session.flush()
    response = importer.check(batch_id)
    assert response.status_code == 422
    assert "not a spreadsheet" in response.get_data(as_text=True)


def test_uploads_above_the_size_limit_answer_413(app, importer, session):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        response = importer.upload(b"Name,City\n" + b"A,B\n" * 1000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    assert response.status_code == 413
    assert counts(session) == (0, 0)
