"""Text files in the code pages of the alliance's countries: the association's own
by default, a clearly better one when the file says so, any one when the user chooses."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import ImportBatch, Organisation
from crm.tenancy import tenant_scope
from tests.clients import client_as
from tests.imports.conftest import Importer

POLISH = [["Nazwa", "Miasto"], ["Spółka Łódź", "Łódź"], ["Zakład Mechaniczny", "Białystok"]]
BULGARIAN = [["Име", "Град"], ["София Тех", "София"], ["Пловдив Агро", "Пловдив"]]


def importer_for(app, make, country: str) -> tuple[Importer, object]:
    tenant = make.tenant(slug=f"assoc-{country.lower()}", country=country)
    client = client_as(app, make.user(tenant, role="secretariat").get_id())
    return Importer(client, tenant.slug), tenant


def names(session, tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        return dict(session.execute(select(Organisation.name, Organisation.city)).all())


def test_a_polish_association_reads_windows_1250_by_default(app, make, session, files):
    importer, tenant = importer_for(app, make, "PL")
    tips = importer.client.get(f"/{tenant.slug}/imports").get_data(as_text=True)
    assert "read as UTF-8, or else as Windows-1250" in tips
    with tenant_scope(tenant.id):
        batch = importer.run(files.csv(POLISH, delimiter=";", encoding="cp1250"))
        assert batch.encoding == "Windows-1250" and batch.status == "committed"
    assert names(session, tenant) == {"Spółka Łódź": "Łódź", "Zakład Mechaniczny": "Białystok"}


def test_a_file_from_another_code_page_is_read_right_once_chosen(importer, session, tenant, files):
    data = files.csv(BULGARIAN, delimiter=";", encoding="cp1251")
    batch_id = importer.batch_id(importer.upload(data))
    batch = session.get(ImportBatch, batch_id)
    # Cyrillic in Windows-1251 is all letters in Windows-1252 too: nothing tells them apart.
    assert batch.encoding == "Windows-1252" and batch.headers == ["Èìå", "Ãðàä"]
    page = importer.mapping_page(batch_id).get_data(as_text=True)
    assert "Read the file as" in page and '<option selected value="Windows-1252">' in page
    # Nothing is mapped yet, but the first rows show what went wrong.
    assert "The first rows, as read" in page and "<td>Ñîôèÿ Òåõ</td>" in page

    response = importer.client.post(
        f"/{tenant.slug}/imports/{batch_id}/encoding", data={"encoding": "Windows-1251"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/mapping")
    session.expire_all()
    batch = session.get(ImportBatch, batch_id)
    assert batch.encoding == "Windows-1251" and batch.headers == ["Име", "Град"]
    assert batch.mapping == {"name": "Име", "city": "Град"}  # suggested afresh
    page = importer.mapping_page(batch_id).get_data(as_text=True)
    assert "read as Windows-1251" in page and "<td>София Тех</td>" in page

    assert importer.check(batch_id).status_code == 302
    assert importer.commit(batch_id).status_code == 303
    assert names(session, tenant) == {"София Тех": "София", "Пловдив Агро": "Пловдив"}


def test_changing_the_encoding_voids_the_dry_run(importer, session, tenant, files):
    # Two short rows: three "³" are too few to leave this French association's 1252.
    batch_id = importer.batch_id(importer.upload(files.csv(POLISH, encoding="cp1250")))
    assert importer.check(batch_id).status_code == 302
    batch = session.get(ImportBatch, batch_id)
    assert (batch.encoding, batch.status) == ("Windows-1252", "checked")
    url = f"/{tenant.slug}/imports/{batch_id}/encoding"
    assert importer.client.post(url, data={"encoding": "Windows-1250"}).status_code == 302
    session.expire_all()
    batch = session.get(ImportBatch, batch_id)
    assert (batch.encoding, batch.status, batch.report) == ("Windows-1250", "uploaded", None)
    response = importer.commit(batch_id)
    assert response.status_code == 303
    assert names(session, tenant) == {}, "an unchecked reading is never imported"


def test_an_encoding_that_cannot_read_the_file_changes_nothing(importer, session, tenant, files):
    data = files.csv(POLISH, encoding="cp1250") + "Ťažký;Žilina\r\n".encode("cp1250")
    batch_id = importer.batch_id(importer.upload(data))
    url = f"/{tenant.slug}/imports/{batch_id}/encoding"
    for choice, message in [
        ("Windows-1257", "cannot be read as Windows-1257"),  # 0x8D (Ť) is not in 1257
        ("EBCDIC", "Choose one of the listed encodings"),
    ]:
        response = importer.client.post(url, data={"encoding": choice}, follow_redirects=True)
        assert message in response.get_data(as_text=True)
        session.expire_all()
        assert session.get(ImportBatch, batch_id).encoding == "Windows-1250"


def test_workbooks_and_committed_files_keep_their_reading(importer, session, tenant, files):
    workbook = importer.batch_id(importer.upload(files.xlsx(POLISH), filename="members.xlsx"))
    assert "Read the file as" not in importer.mapping_page(workbook).get_data(as_text=True)
    committed = importer.run(files.csv(POLISH, encoding="utf-8")).id
    for batch_id, encoding in ((workbook, None), (committed, "UTF-8")):
        url = f"/{tenant.slug}/imports/{batch_id}/encoding"
        response = importer.client.post(url, data={"encoding": "Windows-1250"})
        assert response.status_code == 302
        session.expire_all()
        assert session.get(ImportBatch, batch_id).encoding == encoding
