"""The contacts import reads e-mail consent per purpose: suggested columns, new
and known contacts, blank cells that leave an answer alone, source "import"."""

from __future__ import annotations

from sqlalchemy import select

from crm.imports.kinds import KINDS_BY_KEY, suggest_mapping
from crm.mail import consent
from crm.models import Contact, EmailConsent


def answers(session) -> dict:
    rows = session.execute(
        select(Contact.email, EmailConsent.purpose, EmailConsent.granted, EmailConsent.source)
        .join(EmailConsent, EmailConsent.contact_id == Contact.id)
        .order_by(Contact.email, EmailConsent.purpose)
    )
    return {(email, purpose): (granted, source) for email, purpose, granted, source in rows}


def test_consent_columns_are_suggested_in_the_members_languages():
    mapping = suggest_mapping(
        KINDS_BY_KEY["contacts"],
        ["Prénom", "Nom", "Courriel", "Entreprise", "Infolettre", "Communications adhérents"],
    )
    assert mapping["mail_newsletters"] == "Infolettre"
    assert mapping["mail_membership"] == "Communications adhérents"


def test_import_records_consents_of_new_and_known_contacts(importer, make, session, files, tenant):
    acme = make.org(tenant, name="Acme", registration_id="FR-1", city="Lyon")
    known = make.contact(acme, first_name="Ana", last_name="Old", email="ana@acme.example")
    kept = make.contact(acme, first_name="Eve", last_name="Kept", email="eve@acme.example")
    consent.record(session, tenant.id, known.id, "newsletters", True, "form")
    consent.record(session, tenant.id, kept.id, "membership", False, "unsubscribe")
    data = files.csv(
        [
            ["First name", "Last name", "Email", "SIRET", "Newsletter", "Membership emails"],
            ["Ana", "Old", "ana@acme.example", "FR-1", "non", ""],
            ["Bruno", "New", "bruno@acme.example", "FR-1", "oui", "no"],
            ["Chloé", "Blank", "chloe@acme.example", "FR-1", "", ""],
            ["Eve", "Kept", "eve@acme.example", "FR-1", "", ""],
        ]
    )
    batch = importer.run(data, kind="contacts")
    assert (batch.created_count, batch.rejected_count) == (2, 0)
    assert batch.report["email_consents"] == 3
    page = importer.client.get(f"/{tenant.slug}/imports/{batch.id}").get_data(as_text=True)
    assert 'id="count-email-consents">3<' in page
    session.expire_all()
    assert answers(session) == {
        ("ana@acme.example", "newsletters"): (False, "import"),
        ("bruno@acme.example", "membership"): (False, "import"),
        ("bruno@acme.example", "newsletters"): (True, "import"),
        ("eve@acme.example", "membership"): (False, "unsubscribe"),  # blank: as it was
    }
    receiving = set(
        session.scalars(select(Contact.email).where(consent.may_receive("newsletters")))
    )
    assert receiving == {"bruno@acme.example"}

    again = importer.run(data, kind="contacts")  # the same file: nothing moves
    assert again.created_count == 0
    session.expire_all()
    assert answers(session)[("ana@acme.example", "newsletters")] == (False, "import")
    assert session.scalar(select(EmailConsent.id).where(EmailConsent.source == "form")) is None


def test_a_bad_consent_cell_rejects_its_row(importer, make, session, files, tenant):
    make.org(tenant, name="Acme", registration_id="FR-1", city="Lyon")
    data = files.csv(
        [
            ["First name", "Last name", "Email", "SIRET", "Newsletter"],
            ["Ana", "One", "ana@acme.example", "FR-1", "perhaps"],
        ]
    )
    batch = importer.run(data, kind="contacts", commit=False)
    assert batch.rejected_count == 1
    assert "E-mail: newsletters and events" in batch.report["rejected"][0]["reason"]
