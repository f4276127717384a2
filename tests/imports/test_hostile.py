"""Files built to exhaust the server are refused with a message, within a memory bound
measured on the process that parsed them, and the web process carries on; the stored
files stay within the association's quota and are deleted after the retention period."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from crm.imports import batches, staging
from crm.models import ImportBatch
from crm.models.base import utcnow
from tests.imports import hostile

MB = 1024 * 1024
# The most a refused hostile file may make the parsing child hold (resident). The
# child's address space is capped at IMPORT_PARSE_MEMORY_BYTES (1 GiB) besides.
HOSTILE_PEAK = 256 * MB
# A real 100,000-row import (the benchmark's size) read in the child.
REAL_PEAK = 400 * MB

TOO_MANY_ROWS = "more than an import may hold (250,000)"
TOO_COMPRESSED = "compressed beyond what a spreadsheet gives"
NEEDS_MEMORY = "needs more memory than an import may use"

HOSTILE = {
    # 1,852 bytes; calamine would allocate the whole range, 512 GiB, and abort.
    "far-cell": (lambda: hostile.far_cell("A1:XFD1048576"), TOO_MANY_ROWS),
    "far-cell-dimension-lies": (lambda: hostile.far_cell("A1:B2"), NEEDS_MEMORY),
    "far-cell-no-dimension": (lambda: hostile.far_cell(None), NEEDS_MEMORY),
    # 0.3 MB that unpack to 300 MB.
    "shared-strings-bomb": (lambda: hostile.shared_strings_bomb(300 * MB), TOO_COMPRESSED),
    "padding-bomb": (lambda: hostile.padding_bomb(300 * MB), TOO_COMPRESSED),
    "million-empty-rows": (lambda: hostile.empty_rows(1_000_000), TOO_MANY_ROWS),
    "million-empty-rows-no-dimension": (
        lambda: hostile.empty_rows(1_000_000, dimension=False),
        TOO_MANY_ROWS,
    ),
    # 3.3 MB, 300,001 rows.
    "csv-too-many-rows": (
        lambda: b"Name,City\r\n" + b"Acme,Lyon\r\n" * 300_001,
        TOO_MANY_ROWS,
    ),
    "csv-huge-cell": (
        lambda: b"Name,City\r\nAcme," + b"L" * (2 * MB) + b"\r\n",
        "Line 2: a cell holds 2,097,152 characters, more than an import takes (32,767)",
    ),
    "csv-too-many-columns": (
        lambda: (",".join(f"c{i}" for i in range(500)) + "\r\n" + "x," * 499 + "x\r\n").encode(),
        "The file has 500 columns, more than an import may hold (200)",
    ),
}


def upload(importer, data: bytes):
    """Post ``data`` as a file in a body built here: the test client would spool a
    large file to a temporary file it never closes (a ResourceWarning)."""
    boundary, body = encode_multipart(
        {"kind": "organisations", "file": FileStorage(io.BytesIO(data), "members.xlsx")}
    )
    return importer.client.post(
        f"/{importer.slug}/imports",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def batch_count(session) -> int:
    return session.scalar(select(func.count()).select_from(ImportBatch))


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_files_are_refused_within_a_memory_bound(app, importer, session, case):
    make, message = HOSTILE[case]
    data = make()
    with pytest.raises(staging.FileRefused, match=re.escape(message)) as refused:
        staging.stage(data)
    assert 0 < refused.value.peak_rss < HOSTILE_PEAK, refused.value.peak_rss

    response = upload(importer, data)
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    assert batch_count(session) == 0
    # The web process is still there and answers.
    assert importer.client.get(f"/{importer.slug}/imports").status_code == 200


def test_a_workbook_unpacking_past_the_limit_is_refused_before_it_is_read(app, monkeypatch):
    data = hostile.padding_bomb(20 * MB)  # compressed 1,000 times: the ratio would refuse it too
    monkeypatch.setitem(app.config, "IMPORT_MAX_DECOMPRESSED_BYTES", 10 * MB)
    with pytest.raises(staging.FileRefused, match="unpacks to 20 MB, more than an import"):
        staging.stage(data)


def test_the_memory_limit_stops_a_file_within_the_limits(app, monkeypatch):
    """What the checks let through is still bounded by the child's address space."""
    monkeypatch.setitem(app.config, "IMPORT_PARSE_MEMORY_BYTES", 200 * MB)
    # 16 MB, 200,000 rows of 10 distinct cells: about 300 MB once read.
    header = ",".join(f"c{i}" for i in range(10)) + "\r\n"
    rows = (",".join(f"{r}-{i}" for i in range(10)) + "\r\n" for r in range(200_000))
    data = (header + "".join(rows)).encode()
    with pytest.raises(staging.FileRefused, match=re.escape(NEEDS_MEMORY + " (200 MB)")) as refused:
        staging.stage(data)
    assert refused.value.peak_rss < 200 * MB


def test_a_real_100000_row_file_is_read_within_the_limits(app):
    rows = (
        f"Org {i};Ville {i % 500};FR{i:09d};{i % 300};{i * 1000},50\r\n" for i in range(100_000)
    )
    data = ("Nom;Ville;SIREN;Effectif;CA\r\n" + "".join(rows)).encode("cp1252")
    staged = staging.stage(data)
    assert staged.table.row_count == 100_000
    assert staged.peak_rss < REAL_PEAK, staged.peak_rss
    table = staging.load(staged.blob)
    assert table.rows[-1] == [
        100_001,
        ["Org 99999", "Ville 499", "FR000099999", "99", "99999000,50"],
    ]
    assert len(staged.blob) < len(data) / 3  # stored compressed


def test_preview_dry_run_and_commit_read_the_staged_table(importer, session, files):
    """Read once at upload: the original bytes are not read again."""
    batch_id = importer.batch_id(importer.upload(files.csv([["Name", "City"], ["Acme", "Lyon"]])))
    batch = session.get(ImportBatch, batch_id)
    assert batch.staged and batch.stored_bytes == len(batch.content) + len(batch.staged)
    batch.content = b"%PDF-1.4 no longer the file"
    session.flush()
    assert "Acme" in importer.mapping_page(batch_id).get_data(as_text=True)
    assert importer.check(batch_id).status_code == 302
    assert importer.commit(batch_id).status_code == 303
    session.expire_all()
    assert session.get(ImportBatch, batch_id).created_count == 1


def test_workbooks_keep_only_their_staged_table(importer, session, files):
    data = files.xlsx([["Name", "City"], ["Acme", "Lyon"]])
    batch = session.get(ImportBatch, importer.batch_id(importer.upload(data, filename="m.xlsx")))
    assert batch.content == b"" and batch.stored_bytes == len(batch.staged) < len(data)


# -- quota and retention ---------------------------------------------------------


def test_an_upload_past_the_quota_is_refused_saying_what_is_used(
    app, monkeypatch, importer, session, files
):
    data = files.csv([["Name", "City"]] + [[f"Org {i}", "Lyon"] for i in range(200)])
    first = session.get(ImportBatch, importer.batch_id(importer.upload(data)))
    monkeypatch.setitem(app.config, "IMPORT_QUOTA_BYTES", first.stored_bytes + 100)
    response = importer.upload(data)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "This file needs 0.0 MB, and the association's imports already take 0.0 MB" in page
    assert "Delete old imports" in page
    assert batch_count(session) == 1
    # Full: refused before the file is even read.
    monkeypatch.setitem(app.config, "IMPORT_QUOTA_BYTES", first.stored_bytes)
    assert "already take" in html.unescape(importer.upload(data).get_data(as_text=True))
    # Once the old import's file is past its retention, the upload deletes it and fits.
    first.created_at = utcnow() - timedelta(days=31)
    session.flush()
    importer.batch_id(importer.upload(data))
    session.expire_all()
    assert session.get(ImportBatch, first.id).stored_bytes == 0
    assert batch_count(session) == 2


def test_files_past_the_retention_period_are_deleted(app, importer, session, files, tenant):
    data = files.csv([["Name", "City"], ["Acme", "Lyon"]])
    done = importer.run(data)
    waiting = session.get(ImportBatch, importer.batch_id(importer.upload(data)))
    fresh = session.get(ImportBatch, importer.batch_id(importer.upload(data)))
    for batch in (done, waiting):
        batch.created_at = utcnow() - timedelta(days=31)
    session.flush()
    assert batches.purge_expired(tenant.id) == 2
    session.expire_all()
    done, waiting, fresh = (session.get(ImportBatch, b.id) for b in (done, waiting, fresh))
    assert (done.status, done.created_count, done.stored_bytes) == ("committed", 1, 0)
    assert done.staged is None and done.content == b"" and done.file_deleted_at is not None
    assert (waiting.status, waiting.error) == (
        "failed",
        "The file was deleted 30 days after its upload.",
    )
    assert fresh.staged is not None and fresh.file_deleted_at is None
    # The deleted file's import says so instead of failing.
    response = importer.check(waiting.id)
    assert response.status_code == 422
    assert "deleted 30 days after its upload. Upload it again." in response.get_data(as_text=True)
    assert batches.purge_expired(tenant.id) == 0


def test_the_purge_command_deletes_old_files_of_every_association(app, importer, session, files):
    batch = session.get(
        ImportBatch, importer.batch_id(importer.upload(files.csv([["A", "B"], ["1", "2"]])))
    )
    batch.created_at = utcnow() - timedelta(days=31)
    session.flush()
    result = app.test_cli_runner().invoke(args=["crm", "purge-imports"])
    assert result.exit_code == 0, result.output
    assert "deleted the files of 1 import(s)" in result.output
    session.expire_all()
    assert session.get(ImportBatch, batch.id).file_deleted_at is not None


def test_a_file_deleted_from_its_page_frees_the_quota(app, monkeypatch, importer, session, files):
    data = files.csv([["Name", "City"], ["Acme", "Lyon"]])
    batch = session.get(ImportBatch, importer.batch_id(importer.upload(data)))
    monkeypatch.setitem(app.config, "IMPORT_QUOTA_BYTES", batch.stored_bytes)
    assert importer.upload(data).status_code == 422
    page = importer.client.get(f"/{importer.slug}/imports/{batch.id}").get_data(as_text=True)
    assert "Delete the file now" in page
    response = importer.client.post(f"/{importer.slug}/imports/{batch.id}/delete-file")
    assert response.status_code == 303
    session.expire_all()
    batch = session.get(ImportBatch, batch.id)
    assert (batch.stored_bytes, batch.staged, batch.status) == (0, None, "failed")
    assert batch.error == "The file was deleted."
    again = importer.client.post(f"/{importer.slug}/imports/{batch.id}/delete-file")
    assert "cannot be deleted now" in importer.client.get(again.location).get_data(as_text=True)
    importer.batch_id(importer.upload(data))  # fits again
