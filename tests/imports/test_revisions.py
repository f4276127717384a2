"""The import reads NUTS and NACE revisions: suggested columns, the usual spellings,
blank cells as the defaults, and NACE section V only in Rev. 2.1."""

from __future__ import annotations

from sqlalchemy import select

from crm.imports.kinds import ORGANISATIONS, suggest_mapping
from crm.models import ImportBatch, Organisation
from crm.tenancy import tenant_scope

ROWS = [
    ["Name", "City", "NACE", "NACE revision", "NUTS", "NUTS revision"],
    ["Alpha", "Paris", "62.10", "Rev. 2.1", "FR10", "NUTS 2024"],
    ["Beta", "Lyon", "26.11", "", "FRK2", ""],
]


def test_the_columns_are_suggested():
    mapping = suggest_mapping(ORGANISATIONS, ROWS[0])
    assert (mapping["nace_revision"], mapping["nuts_revision"]) == (
        "NACE revision",
        "NUTS revision",
    )


def test_revisions_are_read_and_blank_cells_take_the_defaults(importer, session, tenant, files):
    importer.run(files.csv(ROWS))
    with tenant_scope(tenant.id):
        found = {
            o.name: (o.nuts_revision, o.nace_revision)
            for o in session.scalars(select(Organisation))
        }
    assert found == {"Alpha": ("2024", "2.1"), "Beta": ("2021", "2")}


def test_bad_revisions_are_listed(importer, session, tenant, files):
    data = files.csv(
        [
            *ROWS,
            ["Gamma", "Nantes", "V", "NACE Rev. 2", "FRG0", ""],
            ["Delta", "Brest", "", "", "", "1999"],
        ]
    )
    batch_id = importer.batch_id(importer.upload(data))
    importer.check(batch_id)
    batch = session.get(ImportBatch, batch_id)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert set(reasons) == {4, 5}
    assert "Section V exists in NACE Rev. 2.1 only" in reasons[4]
    assert "NUTS revision" in reasons[5]
