"""Participations naming an organisation not recorded yet: with its country (and
optionally its PIC) it becomes an external partner, found again rather than duplicated."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from crm.models import Organisation, Participation

HEADER = ["Acronym", "Participant", "Participant country", "Participant PIC", "Role", "Budget"]


def _count(session, *where) -> int:
    return session.scalar(select(func.count()).select_from(Organisation).where(*where))


def test_new_participants_become_external_partners_once(importer, make, session, files, tenant):
    alpha = make.project(tenant, acronym="ALPHA", total_budget=Decimal("1000000"))
    beta = make.project(tenant, programme="ERDF", acronym="BETA", total_budget=None)
    member = make.org(tenant, name="Acme", city="Lyon")
    sintef = make.org(tenant, kind="research_org", name="SINTEF AS", country="NO")
    sintef.is_external, sintef.name_key = True, "sintef"
    known_pic = make.org(tenant, name="Politecnico di Milano", country="IT", is_external=True)
    known_pic.pic = "999888777"
    session.flush()
    data = files.csv(
        [
            HEADER,
            ["ALPHA", "Acme", "", "", "coordinator", "400000"],
            ["ALPHA", "Fraunhofer-Gesellschaft e.V.", "de", "999 999 999", "partner", "300000"],
            ["BETA", "fraunhofer gesellschaft", "DE", "", "partner", ""],
            ["BETA", "Sintef", "NO", "", "partner", ""],
            ["BETA", "PoliMi", "IT", "999888777", "partner", ""],
        ]
    )
    before = _count(session)
    batch = importer.run(data, kind="participations", commit=False)
    assert batch.rejected_count == 0 and batch.created_count == 5
    assert batch.report["external_partners"] == 1  # Fraunhofer, once for both rows
    page = importer.client.get(f"/{tenant.slug}/imports/{batch.id}").get_data(as_text=True)
    assert "external partner will be created" in page
    assert _count(session) == before  # a dry run writes nothing

    assert importer.commit(batch.id).status_code == 303
    session.expire_all()
    fraunhofer = session.scalar(select(Organisation).where(Organisation.pic == "999999999"))
    assert fraunhofer.is_external and fraunhofer.country == "DE"
    assert fraunhofer.name == "Fraunhofer-Gesellschaft e.V." and fraunhofer.kind == "other"
    assert _count(session) == before + 1
    rows = set(session.execute(select(Participation.project_id, Participation.organisation_id)))
    assert rows == {
        (alpha.id, member.id),
        (alpha.id, fraunhofer.id),
        (beta.id, fraunhofer.id),
        (beta.id, sintef.id),
        (beta.id, known_pic.id),
    }
    again = importer.run(data, kind="participations")
    assert (again.created_count, again.unchanged_count, again.rejected_count) == (0, 5, 0)
    assert again.report["external_partners"] == 0 and _count(session) == before + 1


def test_bad_partner_rows_are_rejected_and_nothing_is_written(
    importer, make, session, files, tenant
):
    make.project(tenant, acronym="ALPHA", total_budget=None)
    data = files.csv(
        [
            HEADER,
            ["ALPHA", "Good Partner GmbH", "AT", "", "partner", ""],
            ["ALPHA", "Short Pic Ltd", "IE", "12345", "partner", ""],
            ["ALPHA", "Nowhere Inc", "ZZ", "", "partner", ""],
            ["ALPHA", "Unknown Member", "", "", "partner", ""],
        ]
    )
    before = _count(session)
    batch = importer.run(data, kind="participations", commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert "A PIC is 9 digits" in reasons[3]
    assert "Choose a country" in reasons[4]
    assert "No organisation named “Unknown Member”" in reasons[5]
    assert 2 not in reasons
    importer.commit(batch.id)  # refused: all rows or none
    session.expire_all()
    assert _count(session) == before
    assert session.scalar(select(func.count()).select_from(Participation)) == 0
