"""Importing organisations' identifiers: suggested columns, the stored forms, and the
rows refused for a malformed identifier or a PIC another organisation holds."""

from __future__ import annotations

from sqlalchemy import select

from crm.imports.kinds import ORGANISATIONS, suggest_mapping
from crm.models import Organisation


def test_identifier_columns_are_suggested():
    mapping = suggest_mapping(
        ORGANISATIONS, ["Nom", "SIREN", "N° TVA", "PIC", "Legal Entity Identifier", "ROR ID"]
    )
    assert mapping["registration_id"] == "SIREN" and mapping["vat_id"] == "N° TVA"
    assert mapping["pic"] == "PIC" and mapping["lei"] == "Legal Entity Identifier"
    assert mapping["ror"] == "ROR ID"


def test_identifiers_are_stored_compact(importer, session, files):
    data = files.csv(
        [
            ["Name", "Kind", "SIREN", "VAT", "PIC", "LEI", "ROR"],
            ["Acme", "firm", "732 829 320", "fr 40 303 265 045", "999 888 777",
             "5299 00t8 bm49 aursdo55", ""],
            ["Uni", "university", "", "", "", "", "https://ror.org/03vek6s52"],
        ]
    )  # fmt: skip
    batch = importer.run(data)
    assert (batch.created_count, batch.rejected_count, batch.status) == (2, 0, "committed")
    found = {o.name: o for o in session.scalars(select(Organisation))}
    acme = found["Acme"]
    assert (acme.registration_id, acme.vat_id, acme.pic, acme.lei) == (
        "732829320", "FR40303265045", "999888777", "529900T8BM49AURSDO55"
    )  # fmt: skip
    assert found["Uni"].ror == "03vek6s52"
    again = importer.run(data)  # the same file again: found by its compact SIREN
    assert (again.created_count, again.unchanged_count) == (0, 2)


def test_malformed_identifiers_and_taken_pics_are_rejected(importer, make, tenant, files):
    make.org(tenant, name="Holder", pic="111222333")
    data = files.csv(
        [
            ["Name", "Kind", "SIREN", "PIC", "ROR"],
            ["Acme", "firm", "732 829 320", "999 888 777", ""],
            ["Bad PIC", "firm", "", "12345", ""],
            ["Bad SIREN", "firm", "732 829 321", "", ""],
            ["Taken PIC", "firm", "", "111 222 333", ""],
            ["Same PIC", "firm", "", "999888777", ""],
            ["Firm with ROR", "firm", "", "", "03vek6s52"],
        ]
    )
    batch = importer.run(data, commit=False)
    assert (batch.created_count, batch.rejected_count) == (1, 5)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert "9 digits" in reasons[3] and "SIREN/SIRET" in reasons[4]
    assert "PIC 111222333 is already recorded (Holder)" in reasons[5]
    assert "PIC 999888777 is already recorded (line 2)" in reasons[6]
    assert "research organisations only" in reasons[7]
