"""Organisation import: detection, dry run, all-or-nothing commit, re-import."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.demo.numbers import registration_number
from crm.imports import writing
from crm.models import AuditEvent, ImportBatch, Organisation
from crm.tenancy import tenant_scope

HEADER = ["Nom", "Ville", "SIRET", "Effectif", "Chiffre d'affaires", "Région NUTS", "Site web"]


def org_count(session, tenant) -> int:
    with tenant_scope(tenant.id):
        return session.scalar(select(func.count()).select_from(Organisation))


def orgs(session, tenant) -> dict[str, Organisation]:
    with tenant_scope(tenant.id):
        return {o.name: o for o in session.scalars(select(Organisation))}


def test_dry_run_counts_then_commit_writes_everything(importer, session, tenant, files):
    data = files.csv(
        [
            HEADER,
            ["Acme Robotique", "Lyon", "732 829 320 00074", "12", "1.234.567,89", "FRK2", ""],
            ["Bolt Énergie", "Grenoble", "94554855000017", "300", "60.000.000", "FRK2", ""],
            ["Ciel Bio", "Nantes", "", "4", "150.000", "FRG0", "https://cielbio.example"],
        ],
        delimiter=";",
        encoding="cp1252",
    )
    batch_id = importer.batch_id(importer.upload(data))
    assert importer.check(batch_id).status_code == 302
    batch = session.get(ImportBatch, batch_id)
    assert (batch.created_count, batch.updated_count, batch.rejected_count) == (3, 0, 0)
    assert batch.encoding == "Windows-1252" and batch.delimiter == ";"
    assert batch.decimal_mark == ","
    assert org_count(session, tenant) == 0, "the dry run writes nothing"

    page = importer.client.get(f"/{tenant.slug}/imports/{batch_id}").get_data(as_text=True)
    assert "to create" in page and "Import 3 rows" in page

    assert importer.commit(batch_id).status_code == 303
    found = orgs(session, tenant)
    assert set(found) == {"Acme Robotique", "Bolt Énergie", "Ciel Bio"}
    acme = found["Acme Robotique"]
    assert acme.turnover_eur == 1_234_568 and acme.employees == 12 and acme.city == "Lyon"
    assert acme.kind == "firm" and acme.country == "FR" and acme.size_class == "small"
    assert found["Bolt Énergie"].size_class == "large"
    assert found["Ciel Bio"].website == "https://cielbio.example"
    session.expire_all()
    assert session.get(ImportBatch, batch_id).status == "committed"
    with tenant_scope(tenant.id):
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
    assert "3 created" in event.summary


def test_reimporting_the_same_file_creates_no_duplicates(importer, session, tenant, files):
    data = files.csv(
        [
            ["Name", "City", "Registration id"],
            ["Acme", "Lyon", "732 829 320"],
            ["Beta", "Paris", ""],
        ]
    )
    first = importer.run(data)
    assert first.created_count == 2
    second = importer.run(data)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 2)
    assert org_count(session, tenant) == 2


def test_rows_match_by_registration_id_else_name_and_city(importer, make, session, tenant, files):
    by_reg = make.org(tenant, name="Old Name SA", registration_id="552 100 554", city="Paris")
    by_name = make.org(tenant, name="Café Lumière", city="Lille")
    make.org(tenant, name="Café Lumière", city="Lyon")  # same name, other city
    data = files.csv(
        [
            ["Name", "City", "SIREN", "Employees"],
            ["New Name SA", "Paris", "552100554", "20"],  # registration id, spaces ignored
            ["CAFE LUMIERE", "lille", "", "7"],  # name + city, case and accents ignored
            ["Café Lumière", "Marseille", "", "3"],  # another city: a new organisation
        ]
    )
    batch = importer.run(data)
    assert (batch.created_count, batch.updated_count) == (1, 2)
    session.expire_all()
    assert session.get(Organisation, by_reg.id).name == "New Name SA"
    assert session.get(Organisation, by_name.id).employees == 7
    assert org_count(session, tenant) == 4


def test_empty_cells_do_not_erase_recorded_values(importer, make, session, tenant, files):
    org = make.org(tenant, name="Acme", city="Lyon", website="https://acme.example", employees=5)
    batch = importer.run(
        files.csv([["Name", "City", "Website", "Employees"], ["Acme", "Lyon", "", "6"]])
    )
    assert batch.updated_count == 1
    session.expire_all()
    org = session.get(Organisation, org.id)
    assert org.website == "https://acme.example" and org.employees == 6


def test_xlsx_is_read_with_numbers_and_text_cells(importer, session, tenant, files):
    data = files.xlsx(
        [
            ["Nombre", "Ciudad", "País", "CIF", "Empleados", "Facturación"],
            ["Aceros del Norte", "Bilbao", "ES", "A12345674", 40, 8_500_000.0],
            ["Datos Sur", "Sevilla", "ES", "B87654323", "12", "1.500.000,50"],
        ]
    )
    batch = importer.run(data, filename="socios.xlsx")
    assert batch.file_format == "xlsx" and batch.created_count == 2
    found = orgs(session, tenant)
    assert found["Aceros del Norte"].turnover_eur == 8_500_000
    assert found["Datos Sur"].turnover_eur == 1_500_001 and found["Datos Sur"].employees == 12


def test_rejected_rows_are_listed_with_line_and_reason_and_block_the_commit(
    importer, session, tenant, files
):
    data = files.csv(
        [
            ["Name", "City", "Country", "NUTS2", "Employees", "Website", "VAT"],
            ["Good One", "Lyon", "FR", "FRK2", "5", "", ""],
            ["", "Lyon", "FR", "", "", "", ""],
            ["Bad Region", "Lyon", "FR", "DE21", "", "", ""],
            ["Bad Staff", "Lyon", "FR", "", "-3", "", ""],
            ["Bad Web", "Lyon", "FR", "", "", "not a url", ""],
            ["Bad Vat", "Lyon", "FR", "", "", "", "PL123"],
        ]
    )
    batch_id = importer.batch_id(importer.upload(data))
    importer.check(batch_id)
    batch = session.get(ImportBatch, batch_id)
    assert (batch.created_count, batch.rejected_count) == (1, 5)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "Name is empty" in reasons[3]
    assert "starts with FR" in reasons[4]
    assert "Employees" in reasons[5] and "positive" in reasons[5]
    assert "http" in reasons[6]
    assert "VAT" in reasons[7]
    page = importer.client.get(f"/{tenant.slug}/imports/{batch_id}").get_data(as_text=True)
    assert "5 rows rejected" in page and "starts with FR" in page
    response = importer.commit(batch_id)
    assert response.status_code == 303
    assert org_count(session, tenant) == 0, "all or nothing: the good row is not written"
    csv = importer.client.get(f"/{tenant.slug}/imports/{batch_id}/rejected.csv")
    assert csv.status_code == 200 and "starts with FR" in csv.get_data(as_text=True)


def test_commit_rechecks_and_writes_nothing_when_data_changed(
    importer, make, session, tenant, files
):
    """Between the dry run and the commit, another organisation took the name: still valid,
    but now an update. And a second commit of a committed batch is refused."""
    data = files.csv([["Name", "City"], ["Acme", "Lyon"]])
    batch_id = importer.batch_id(importer.upload(data))
    importer.check(batch_id)
    make.org(tenant, name="Acme", city="Lyon")
    importer.commit(batch_id)
    session.expire_all()
    batch = session.get(ImportBatch, batch_id)
    assert batch.status == "committed" and batch.unchanged_count == 1
    assert org_count(session, tenant) == 1
    page = importer.client.post(f"/{tenant.slug}/imports/{batch_id}/commit", follow_redirects=True)
    assert "cannot be committed now" in page.get_data(as_text=True)


def test_the_commit_writes_in_chunks_not_row_by_row(
    importer, make, session, tenant, files, count_queries, monkeypatch
):
    """Statements grow with the number of chunks, never with the number of rows."""
    monkeypatch.setattr(writing, "CHUNK", 10)
    for i in range(15):
        make.org(
            tenant, name=f"Known {i}", city="Lyon", registration_id=registration_number("FR", i)
        )
    rows = [["Name", "City", "Registration id", "Employees"]]
    rows += [[f"Known {i}", "Lyon", registration_number("FR", i), "7"] for i in range(15)]
    rows += [[f"New {i}", "Lyon", registration_number("FR", 100 + i), "7"] for i in range(35)]
    batch_id = importer.batch_id(importer.upload(files.csv(rows)))
    importer.check(batch_id)
    with count_queries() as queries:
        assert importer.commit(batch_id).status_code == 303
    batch = session.get(ImportBatch, batch_id)
    assert (batch.status, batch.created_count, batch.updated_count) == ("committed", 35, 15)
    writes = [s for s in queries.statements if s.startswith(("INSERT INTO", "UPDATE"))]
    inserts = [s for s in writes if "organisations" in s.split("(")[0] and "INSERT" in s[:6]]
    updates = [s for s in writes if s.startswith("UPDATE organisations")]
    assert len(inserts) == 4  # 35 rows in chunks of 10
    assert len(updates) == 2  # 15 rows in chunks of 10
    assert org_count(session, tenant) == 50
    session.expire_all()
    known = session.scalar(select(Organisation).where(Organisation.name == "Known 3"))
    assert known.employees == 7
