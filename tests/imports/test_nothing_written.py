"""Each failure the import must survive says why and leaves every table as it was.

Counts are taken over all the tables an import can write (and the audit log),
so a half-written batch of rows, a stray status change or an audit entry for
an import that did not happen would all show.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select, text

from crm.demo.numbers import registration_number
from crm.extensions import db
from crm.imports import organisations, writing
from crm.models import (
    AuditEvent,
    Contact,
    ImportBatch,
    Organisation,
    Participation,
    Project,
    ProjectStatusChange,
)
from crm.tenancy import tenant_scope
from tests.imports.conftest import signed_in
from tests.imports.test_jobs import upload, work

WRITTEN = (Organisation, Contact, Project, Participation, ProjectStatusChange, AuditEvent)
BIG = writing.CHUNK * 2 + 1  # more rows than two write chunks


def written(session) -> dict[str, int]:
    """Rows in every table an import writes to."""
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in WRITTEN
    }


@pytest.fixture
def before(session, make, tenant):
    """A tenant that already holds one of everything, and the counts of it."""
    org = make.org(tenant, name="Acme", registration_id="FR-1", city="Lyon")
    make.contact(org, email="ana@acme.example")
    project = make.project(tenant, acronym="ALPHA", grant_number="101000001")
    make.participation(project, org, role="coordinator")
    return written(session)


@pytest.fixture
def inline(app, monkeypatch):
    """Large files checked and committed in the request (the job path has its own tests)."""
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_ROWS", 1_000_000)


def org_rows(count: int) -> list[list]:
    return [["Nom", "Ville", "SIRET", "Effectif", "Chiffre d'affaires"]] + [
        [f"Société {i}", "Lyon", registration_number("FR", i), str(i % 200), f"{i * 10},50"]
        for i in range(count)
    ]


# -- wrong encoding ---------------------------------------------------------------------


def test_wrong_encoding_deep_in_a_large_file_is_refused(importer, session, files, before):
    """Bytes that no encoding we read uses (0x81, 0x98) on the last line of a big file."""
    data = files.csv(org_rows(BIG), delimiter=";", encoding="cp1252") + b"Bad\x81;\x98Lyon\r\n"
    response = importer.upload(data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "encoding could not be recognised" in page and "CSV UTF-8" in page
    assert written(session) == before
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_utf16_without_a_byte_order_mark_is_refused(importer, session, files, before):
    data = files.csv([["Name", "City"], ["Acme", "Lyon"]], encoding="utf-16-le")
    response = importer.upload(data)
    assert response.status_code == 422
    assert "not a spreadsheet" in response.get_data(as_text=True)
    assert written(session) == before


# -- missing required column ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rows", "missing"),
    [
        ("organisations", [["City", "SIRET"], ["Lyon", "1"]], "“Name”"),
        ("contacts", [["Last name", "Email", "Company"], ["Roux", "b@x.org", "Acme"]], "“First"),
        (
            "contacts",
            [["First name", "Last name", "Email"], ["B", "Roux", "b@x.org"]],
            "“Organisation registration id” or “Organisation name”",
        ),
        ("projects", [["Programme", "Acronym", "Title"], ["HE", "NEW", "New"]], "“Status”"),
        (
            "participations",
            [["Acronym", "Organisation"], ["ALPHA", "Acme"]],
            "“Role”",
        ),
        (
            "participations",
            [["Organisation", "Role"], ["Acme", "partner"]],
            "“Project grant number” or “Project acronym”",
        ),
    ],
    ids=["org-name", "contact-first-name", "contact-organisation", "project-status", "role", "pj"],
)
def test_missing_required_column_is_named_and_nothing_is_checked(
    importer, session, files, before, kind, rows, missing
):
    batch_id = importer.batch_id(importer.upload(files.csv(rows), kind=kind))
    response = importer.check(batch_id)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Required column missing" in page and missing in page
    session.expire_all()
    assert session.get(ImportBatch, batch_id).status == "uploaded"
    assert importer.commit(batch_id).status_code == 303  # refused: not checked
    assert written(session) == before


# -- bad numbers ----------------------------------------------------------------------------


def test_bad_numbers_in_a_workbook_reject_their_rows(importer, session, files, before):
    data = files.xlsx(
        [
            ["Name", "City", "Employees", "Turnover", "Founded"],
            ["Good", "Lyon", 12, 1_000_000.0, 1999],
            ["Text", "Lyon", "n/a", 10.0, 2000],
            ["Negative", "Lyon", -4, 10.0, 2000],
            ["Fraction", "Lyon", 2.5, 10.0, 2000],
            ["Huge", "Lyon", 3, 1e20, 2000],
            ["Year", "Lyon", 3, 10.0, "MCMXC"],
        ]
    )
    batch = importer.run(data, filename="members.xlsx", commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "Employees: “n/a” is not a whole number." in reasons[3]
    assert "Employees" in reasons[4] and "positive" in reasons[4]
    assert "“2.5” is not a whole number" in reasons[5]
    assert "Turnover" in reasons[6]
    assert "“MCMXC” is not a year" in reasons[7]
    assert importer.commit(batch.id).status_code == 303
    assert written(session) == before


@pytest.mark.parametrize(
    ("kind", "rows", "reason"),
    [
        (
            "projects",
            [
                ["Programme", "Acronym", "Title", "Status", "Total budget"],
                ["HE", "NEW", "New", "funded", "1.000.000,00"],
                ["HE", "BAD", "Bad", "funded", "about a million"],
            ],
            "Total budget (EUR): “about a million” is not a number.",
        ),
        (
            "projects",
            [
                ["Programme", "Acronym", "Title", "Status", "Total budget"],
                ["HE", "NEW", "New", "funded", "1.000.000,00"],
                ["HE", "BIG", "Big", "funded", "1.000.000.000.000,00"],
            ],
            "Total budget (EUR): “1.000.000.000.000,00” is too large",
        ),
        (
            "participations",
            [
                ["Acronym", "Organisation", "Role", "Budget share"],
                ["ALPHA", "Acme", "coordinator", "100,00"],
                ["ALPHA", "Acme", "coordinator", "1,2,3"],
            ],
            "Budget share (EUR): “1,2,3” is not a number.",
        ),
    ],
    ids=["project-budget-text", "project-budget-too-large", "participation-share"],
)
def test_bad_numbers_of_projects_and_participations_reject_their_rows(
    importer, session, files, before, kind, rows, reason
):
    batch = importer.run(files.csv(rows, delimiter=";"), kind=kind, commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert set(reasons) == {3} and reason in reasons[3]
    assert importer.commit(batch.id).status_code == 303
    assert written(session) == before


# -- duplicate rows within the file ------------------------------------------------------


def test_duplicates_far_apart_in_a_large_file_block_the_whole_file(
    importer, session, files, before, inline
):
    """The copy of line 2 sits past two write chunks: no chunk before it is written."""
    rows = org_rows(BIG)
    rows.append(list(rows[1]))
    batch = importer.run(files.csv(rows, delimiter=";"), commit=False)
    assert batch.rejected_count == 1
    assert batch.report["rejected"][0]["line"] == BIG + 2
    assert batch.report["rejected"][0]["reason"] == "Duplicate of line 2 (same registration id)."
    response = importer.commit(batch.id)
    assert response.status_code == 303
    assert written(session) == before


# -- not a spreadsheet ---------------------------------------------------------------------


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_docx(), "not an Excel workbook"),
        (b"Dear members,\nplease find attached\nthe list\n", "Only one column was found"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", "not a spreadsheet"),
    ],
    ids=["word-document", "a-letter", "a-program"],
)
def test_files_that_are_not_spreadsheets_are_refused(importer, session, before, data, message):
    response = importer.upload(data, filename="members.csv")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert written(session) == before


# -- no half-written batch of rows -----------------------------------------------------------


def test_a_bad_last_row_keeps_every_chunk_out(importer, session, files, before, inline):
    rows = org_rows(BIG)
    rows.append(["Last", "Lyon", "FR999999999", "many", "1"])
    batch = importer.run(files.csv(rows, delimiter=";"), commit=False)
    assert (batch.created_count, batch.rejected_count) == (BIG, 1)
    assert importer.commit(batch.id).status_code == 303
    assert written(session) == before
    session.expire_all()
    assert session.get(ImportBatch, batch.id).status == "checked"


@pytest.mark.parametrize("job_app", ["rq", "in-process"], indirect=True)
def test_a_database_error_after_rows_went_in_rolls_the_whole_import_back(job_app, monkeypatch):
    """The writer fails on the database after several chunks of new rows were inserted
    (and before the updates): the job rolls back, the batch says it failed, no row stays."""
    app = job_app
    monkeypatch.setattr(writing, "CHUNK", 7)

    def failing_update(session, *_args, **_kwargs):
        session.connection().execute(text("UPDATE organisations SET no_such_column = 1"))

    slug = "assoc-half"
    client, tenant_id = signed_in(
        app,
        slug,
        setup=lambda make, tenant: make.org(
            tenant, name="Société 0", city="Lyon", registration_id=registration_number("FR", 0)
        ),
    )
    rows = org_rows(40)
    data = ("\r\n".join(";".join(r) for r in rows) + "\r\n").encode("utf-8-sig")
    batch_id, form = upload(app, client, slug, tenant_id, data, "societes.csv")
    client.post(f"/{slug}/imports/{batch_id}/mapping", data=form)
    if "crm.redis" in app.extensions:
        work(app)
    status = client.get(f"/{slug}/imports/{batch_id}/status").json
    assert (status["batch_status"], status["created"], status["updated"]) == ("checked", 39, 1)

    with app.app_context(), tenant_scope(tenant_id):
        audited = db.session.scalar(select(func.count()).select_from(AuditEvent))
    monkeypatch.setattr(organisations, "bulk_update", failing_update)
    response = client.post(f"/{slug}/imports/{batch_id}/commit")
    assert response.status_code == 302  # in-process, the error is on the run, not a 500
    if "crm.redis" in app.extensions:
        work(app)
    status = client.get(f"/{slug}/imports/{batch_id}/status").json
    assert status["status"] == "failed" and status["batch_status"] == "failed"
    assert "unexpected error" in status["message"]
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audited
