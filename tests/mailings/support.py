"""Seeding an audience for mailing tests: firms with contacts, some opted out."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.mail import consent
from crm.tenancy import tenant_scope


@dataclass
class Audience:
    contacts: list = field(default_factory=list)  # (contact id, email, first name, org name)
    opted_out: list = field(default_factory=list)  # their e-mails
    outsider_emails: list = field(default_factory=list)  # contacts outside the filter


def seed(session, make, tenant, firms: int, per_firm: int, opted_out: int) -> Audience:
    """``firms`` firms of ``per_firm`` contacts each, the first ``opted_out`` of
    them refusing membership mail; plus a university (outside ``kind=firm``)
    and a contact without an address."""
    out = Audience()
    for f in range(firms):
        org = make.org(tenant, name=f"Firm {f:03d}")
        for c in range(per_firm):
            contact = make.contact(
                org, first_name=f"First{f:03d}{c:02d}", email=f"c{f:03d}-{c:02d}@example.org"
            )
            out.contacts.append((contact.id, contact.email, contact.first_name, org.name))
    for contact_id, email, _, _ in out.contacts[:opted_out]:
        with tenant_scope(tenant.id):
            consent.record(session, tenant.id, contact_id, "membership", False, "contact")
        out.opted_out.append(email)
    university = make.org(tenant, kind="university", name="Outside University")
    out.outsider_emails.append(make.contact(university, email="prof@example.org").email)
    make.contact(make.org(tenant, name="Firm without address"), email=None)
    return out
