"""Contacts, projects and participations: matching by reference, the same dry run and commit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from crm.models import Contact, Participation, Project, ProjectStatusChange


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# -- contacts ------------------------------------------------------------------------


def test_contacts_attach_to_organisations_and_match_by_email(
    importer, make, session, files, tenant
):
    acme = make.org(tenant, name="Acme", registration_id="FR-1", city="Lyon")
    beta = make.org(tenant, name="Béta Conseil", city="Paris")
    known = make.contact(
        acme, first_name="Ana", last_name="Old", email="ana@acme.example", is_primary=True
    )
    data = files.csv(
        [
            ["Prénom", "Nom", "Courriel", "SIRET", "Entreprise", "Principal", "Consentement"],
            ["Ana", "Martin", "ANA@acme.example", "FR1", "", "oui", "oui"],
            ["Bruno", "Roux", "bruno@beta.example", "", "beta conseil", "oui", ""],
            ["Chloé", "Petit", "chloe@acme.example", "FR-1", "", "", "non"],
        ],
        delimiter=";",
    )
    batch = importer.run(data, kind="contacts")
    assert (batch.created_count, batch.updated_count, batch.rejected_count) == (2, 1, 0)
    session.expire_all()
    ana = session.get(Contact, known.id)
    assert ana.last_name == "Martin" and ana.is_primary and ana.consent_given
    assert ana.consent_source == "import" and ana.consent_date is not None
    bruno = session.scalar(select(Contact).where(Contact.email == "bruno@beta.example"))
    assert bruno.organisation_id == beta.id and bruno.is_primary
    again = importer.run(data, kind="contacts")
    assert (again.created_count, again.unchanged_count) == (0, 3)
    assert count(session, Contact) == 3


def test_contact_rows_are_rejected_with_reasons(importer, make, session, files, tenant):
    make.org(tenant, name="Twin", city="Lyon")
    make.org(tenant, name="Twin", city="Paris")
    make.org(tenant, name="Solo", city="Nice")
    data = files.csv(
        [
            ["First name", "Last name", "Email", "Organisation", "Primary"],
            ["A", "One", "a@example.org", "Nobody Ltd", ""],
            ["B", "Two", "b@example.org", "Twin", ""],
            ["C", "Three", "not-an-email", "Solo", ""],
            ["D", "Four", "d@example.org", "Solo", "yes"],
            ["E", "Five", "e@example.org", "Solo", "yes"],
            ["F", "Six", "D@example.org", "Solo", ""],
        ]
    )
    batch = importer.run(data, kind="contacts", commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert "No organisation named “Nobody Ltd”" in reasons[2]
    assert "2 organisations are named “Twin”" in reasons[3]
    assert "E-mail" in reasons[4]
    assert "already names the primary contact" in reasons[6]
    assert reasons[7] == "Duplicate of line 5 (same e-mail)."
    assert 5 not in reasons
    importer.commit(batch.id)
    assert count(session, Contact) == 0


# -- projects ------------------------------------------------------------------------


PROJECT_HEADER = [
    "Programme",
    "Acronym",
    "Title",
    "Grant agreement number",
    "Status",
    "Start date",
    "End date",
    "Total budget",
    "EU contribution",
]


def test_projects_are_created_matched_by_grant_number_and_get_status_history(
    importer, make, session, files, tenant
):
    existing = make.project(
        tenant, programme="HE", grant_number="101070123", status="submitted", acronym="OLDNAME"
    )
    data = files.csv(
        [
            PROJECT_HEADER,
            [
                "HE",
                "GREENAI",
                "Green AI",
                "GA No. 101 070 123",
                "funded",
                "01/01/2025",
                "31/12/2027",
                "2.000.000,00",
                "1.500.000,00",
            ],
            ["Interreg", "BALTIC", "Baltic ports", "", "Proposal", "", "", "800.000", ""],
            [
                "Horizon Europe",
                "SOLAR",
                "Solar roofs",
                "101099999",
                "en cours",
                "2024-02-01",
                "2026-01-31",
                "1.000.000",
                "700.000",
            ],
        ],
        delimiter=";",
    )
    batch = importer.run(data, kind="projects")
    assert (batch.created_count, batch.updated_count, batch.rejected_count) == (2, 1, 0)
    session.expire_all()
    updated = session.get(Project, existing.id)
    assert updated.status == "funded" and updated.acronym == "GREENAI"
    assert updated.total_budget == Decimal("2000000.00")
    baltic = session.scalar(select(Project).where(Project.acronym == "BALTIC"))
    assert baltic.programme_code == "INTERREG" and baltic.status == "proposal"
    solar = session.scalar(select(Project).where(Project.acronym == "SOLAR"))
    assert solar.programme_code == "HE" and solar.status == "running"
    assert solar.grant_key == "101099999" and solar.start_date == date(2024, 2, 1)
    history = session.execute(
        select(
            ProjectStatusChange.project_id,
            ProjectStatusChange.from_status,
            ProjectStatusChange.to_status,
        )
    ).all()
    assert set(history) == {
        (existing.id, "submitted", "funded"),
        (baltic.id, None, "proposal"),
        (solar.id, None, "running"),
    }
    again = importer.run(data, kind="projects")
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    assert count(session, Project) == 3


def test_project_rules_reject_rows(importer, session, files):
    data = files.csv(
        [
            PROJECT_HEADER,
            ["HE", "LATE", "Ends first", "", "funded", "2025-06-01", "2025-01-01", "", ""],
            ["HE", "DRAFT", "A draft", "", "proposal", "", "", "1000", "500"],
            ["NOPE", "WHAT", "Unknown programme", "", "funded", "", "", "", ""],
            ["HE", "ODD", "Odd status", "", "dreaming", "", "", "", ""],
            ["HE", "NEG", "Negative", "", "funded", "", "", "-5", ""],
            ["HE", "OK", "Fine", "123", "funded", "", "", "", ""],
            ["HE", "OK2", "Same grant", "No. 123", "funded", "", "", "", ""],
        ]
    )
    batch = importer.run(data, kind="projects", commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert "must be after the start date" in reasons[2]
    assert "no EU contribution" in reasons[3]
    assert "not a known programme" in reasons[4]
    assert "“dreaming” is not one of" in reasons[5]
    assert "cannot be negative" in reasons[6]
    assert reasons[8] == "Duplicate of line 7 (same programme and grant number)."
    assert batch.created_count == 1
    importer.commit(batch.id)
    assert count(session, Project) == 0


# -- participations ---------------------------------------------------------------------


def test_participations_reference_projects_and_organisations(
    importer, make, session, files, tenant
):
    project = make.project(
        tenant,
        programme="HE",
        grant_number="101000001",
        acronym="ALPHA",
        total_budget=Decimal("1000000"),
    )
    other = make.project(tenant, programme="ERDF", acronym="BETA", total_budget=None)
    acme = make.org(tenant, name="Acme", registration_id="FR-1", city="Lyon")
    uni = make.org(tenant, kind="university", name="Université de Lyon", city="Lyon")
    existing = make.participation(project, uni, role="partner", budget_share=Decimal("100"))
    data = files.csv(
        [
            ["Grant number", "Acronym", "Registration id", "Participant", "Role", "Budget share"],
            ["GA 101000001", "", "FR 1", "", "Coordinateur", "400.000"],
            ["101000001", "", "", "université de lyon", "partenaire", "300.000"],
            ["", "beta", "", "Acme", "partner", ""],
        ],
        delimiter=";",
    )
    batch = importer.run(data, kind="participations")
    assert (batch.created_count, batch.updated_count, batch.rejected_count) == (2, 1, 0)
    session.expire_all()
    assert session.get(Participation, existing.id).budget_share == Decimal("300000")
    rows = session.execute(
        select(Participation.project_id, Participation.organisation_id, Participation.role)
    ).all()
    assert set(rows) == {
        (project.id, acme.id, "coordinator"),
        (project.id, uni.id, "partner"),
        (other.id, acme.id, "partner"),
    }
    again = importer.run(data, kind="participations")
    assert (again.created_count, again.unchanged_count) == (0, 3)


def test_participation_rules_reject_the_rows_of_a_broken_consortium(
    importer, make, session, files, tenant
):
    project = make.project(tenant, acronym="SMALL", total_budget=Decimal("1000"))
    a = make.org(tenant, name="A")
    b = make.org(tenant, name="B")
    c = make.org(tenant, name="C")
    make.participation(project, c, role="coordinator")
    data = files.csv(
        [
            ["Project acronym", "Organisation", "Role", "Budget share"],
            ["SMALL", "A", "coordinator", "600"],
            ["SMALL", "B", "partner", "600"],
            ["SMALL", "A", "partner", ""],
            ["NOSUCH", "A", "partner", ""],
            ["SMALL", "Nobody", "partner", "-1"],
        ]
    )
    batch = importer.run(data, kind="participations", commit=False)
    reasons = {r["line"]: r["reason"] for r in batch.report["rejected"]}
    assert "at most one coordinator" in reasons[2] and "above the project's total" in reasons[2]
    assert reasons[3] == reasons[2]
    assert "takes part in SMALL at most once" in reasons[4]
    assert "No project with the acronym “NOSUCH”" in reasons[5]
    assert "cannot be negative" in reasons[6]
    importer.commit(batch.id)
    assert count(session, Participation) == 1
    assert {a.id, b.id}.isdisjoint(session.scalars(select(Participation.organisation_id)))
