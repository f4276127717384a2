"""Organisation imports with addresses and membership columns, websites typed without
https://, column names in the members' languages, and likely duplicates in the dry run."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crm.imports.kinds import ORGANISATIONS, suggest_mapping
from crm.models import AssociationMembership, ImportBatch, MembershipStatusChange, Organisation

HEADER = [
    "Nom", "Adresse", "Code postal", "Ville", "SIRET", "Site web",
    "Statut d'adhésion", "Membre depuis", "Cotisation", "Payé jusqu'au",
]  # fmt: skip


def _orgs(session) -> dict[str, Organisation]:
    return {o.name: o for o in session.scalars(select(Organisation))}


def test_import_writes_addresses_memberships_and_their_history(
    importer, session, files, make, tenant
):
    existing = make.org(tenant, name="Déjà Membre", city="Lyon", registration_id="732829320")
    make.membership(existing, status="applicant", fee_tier="standard")
    existing_id = existing.id
    data = files.csv(
        [
            HEADER,
            ["Acme Robotique", "12 rue de la Paix", "75002", "Paris", "", "www.acme.example.fr",
             "Actif", "15/03/2021", "Réduite", "31/12/2026"],
            ["Bolt Énergie", "1 avenue Foch", "38000", "Grenoble", "", "", "", "", "", ""],
            ["Déjà Membre", "", "", "Lyon", "732 829 320", "", "actif", "01/01/2024", "", ""],
        ],
        delimiter=";",
    )  # fmt: skip
    batch = importer.run(data, commit=False)
    assert batch.rejected_count == 0, batch.report
    assert batch.mapping["street"] == "Adresse" and batch.mapping["fee_tier"] == "Cotisation"
    assert batch.report["membership_rows"] == 2
    assert importer.commit(batch.id).status_code == 303

    found = _orgs(session)
    acme = found["Acme Robotique"]
    assert (acme.street, acme.postcode, acme.city) == ("12 rue de la Paix", "75002", "Paris")
    assert acme.website == "https://www.acme.example.fr"
    memberships = {m.organisation_id: m for m in session.scalars(select(AssociationMembership))}
    m = memberships[acme.id]
    assert (m.status, m.joined_on, m.fee_tier, m.paid_until) == (
        "active",
        date(2021, 3, 15),
        "reduced",
        date(2026, 12, 31),
    )
    assert found["Bolt Énergie"].id not in memberships  # no membership columns filled
    updated = memberships[existing_id]
    assert updated.status == "active" and updated.fee_tier == "standard"
    history = session.execute(
        select(MembershipStatusChange.membership_id, MembershipStatusChange.from_status,
               MembershipStatusChange.to_status)
    ).all()  # fmt: skip
    assert sorted(history) == sorted([(m.id, None, "active"), (updated.id, "applicant", "active")])
    session.expire_all()
    assert session.get(ImportBatch, batch.id).report["memberships"] == {"created": 1, "updated": 1}


def test_bad_membership_values_reject_the_row_and_nothing_is_written(importer, session, files):
    data = files.csv(
        [
            HEADER,
            ["Acme", "", "", "Paris", "", "", "Sometimes", "", "", ""],
            ["Bolt", "", "", "Paris", "", "", "", "", "Réduite", ""],
            ["Ciel", "", "", "Paris", "", "", "Actif", "01/01/2025", "", "01/01/2024"],
            ["Dune", "", "", "Paris", "", "acme dot fr", "", "", "", ""],
        ],
        delimiter=";",
    )
    batch = importer.run(data, commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert "Membership status" in reasons[2] and "Sometimes" in reasons[2]
    assert "a new membership needs one" in reasons[3]
    assert "paid until before it starts" in reasons[4]
    assert "web address" in reasons[5]
    assert importer.commit(batch.id).status_code == 303  # refused: rows are rejected
    assert session.scalars(select(Organisation)).all() == []
    assert session.scalars(select(AssociationMembership)).all() == []


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Chiffre d'affaires (EUR)", "turnover_eur"),  # French
        ("Facturación (€)", "turnover_eur"),  # Spanish
        ("Obrat", "turnover_eur"),  # Czech / Slovak
        ("Liikevaihto EUR", "turnover_eur"),  # Finnish
        ("Árbevétel", "turnover_eur"),  # Hungarian
        ("Apyvarta", "turnover_eur"),  # Lithuanian
        ("Apgrozījums", "turnover_eur"),  # Latvian
        ("Cifra de afaceri", "turnover_eur"),  # Romanian
        ("Volume de negócios", "turnover_eur"),  # Portuguese
        ("Оборот", "turnover_eur"),  # Bulgarian
        ("Liczba pracowników", "employees"),  # Polish
        ("Número de empleados", "employees"),
        ("Počet zaměstnanců", "employees"),
        ("Adresse", "street"),
        ("Ulica", "street"),
        ("Dirección", "street"),
        ("Code postal", "postcode"),
        ("Kod pocztowy", "postcode"),
        ("PSČ", "postcode"),
        ("Irányítószám", "postcode"),
        ("Postinumero", "postcode"),
        ("Statut d'adhésion", "membership_status"),
        ("Payé jusqu'au", "paid_until"),
        ("Opłacone do", "paid_until"),
        ("Fecha de alta", "member_since"),
        ("Cuota", "fee_tier"),
    ],
)
def test_column_names_in_the_members_languages_are_suggested(header, field):
    assert suggest_mapping(ORGANISATIONS, [header]) == {field: header}


def test_thousands_are_not_read_as_euros():
    assert suggest_mapping(ORGANISATIONS, ["Chiffre d'affaires (k€)"]) == {}


def test_dry_run_lists_likely_duplicates_as_warnings(importer, session, files, make, tenant):
    make.org(tenant, name="Acme Robotics", city="Paris", vat_id="FR96552100554")
    make.org(tenant, name="Photonique Lyon", city="Lyon", pic="999888777")
    make.org(tenant, name="Bolt Energy", city="Grenoble", registration_id="732829320")
    data = files.csv(
        [
            ["Nom", "Ville", "TVA", "PIC", "SIRET"],
            ["ACME Robotics SAS", "Paris", "", "", ""],  # similar name, same city
            ["Other Name", "Nantes", "FR 96 552 100 554", "", ""],  # same VAT
            ["Third Name", "Nice", "", "999 888 777", ""],  # same PIC: rejected (unique)
            ["Fresh Firm", "Lille", "", "", ""],
        ],
        delimiter=";",
    )
    batch = importer.run(data, commit=False)
    warnings = {d["line"]: d for d in batch.report["duplicates"]}
    assert set(warnings) == {2, 3}
    assert warnings[2]["candidates"][0]["name"] == "Acme Robotics"
    assert warnings[2]["candidates"][0]["reasons"] == ["similar name in the same city"]
    assert warnings[3]["candidates"][0]["reasons"] == ["same VAT number"]
    assert {r["line"] for r in batch.report["rejected"]} == {4}  # a PIC names one organisation
    page = importer.client.get(f"/{importer.slug}/imports/{batch.id}").get_data(as_text=True)
    assert "Likely duplicates" in page and "Acme Robotics" in page
