"""External partners: organisations recorded for consortia only, never members.

An external partner (a foreign university, a firm of another country) is a
tenant-owned ``Organisation`` with ``is_external`` set: no membership, no
cluster, left out of the member lists and figures. Before one is created it
is looked for, so a partner typed twice is one record: first by PIC (the EU
Participant Identification Code), then by name key and country. The import of
participations uses the same rules (``crm.imports.projects``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from crm.countries import check_known_country
from crm.i18n import _
from crm.identifiers import check_pic, normalise_pic  # noqa: F401  (used by importers of this module)
from crm.models import Organisation
from crm.models.organisation import KINDS
from crm.validation import RuleError, check_url

_NOT_WORD = re.compile(r"[^\w]+")
# Legal forms dropped from the end of a name ("Acme GmbH" is "Acme"); written as
# their words after punctuation is gone ("S.p.A." -> "s p a").
_LEGAL_FORMS = [
    tuple(form.split())
    for form in (
        "gmbh",
        "ggmbh",
        "ag",
        "kg",
        "ug",
        "ev",
        "e v",
        "se",
        "sa",
        "s a",
        "sas",
        "s a s",
        "sarl",
        "s a r l",
        "srl",
        "s r l",
        "spa",
        "s p a",
        "sl",
        "s l",
        "slu",
        "bv",
        "b v",
        "nv",
        "n v",
        "ltd",
        "limited",
        "plc",
        "inc",
        "llc",
        "corp",
        "co",
        "oy",
        "oyj",
        "ab",
        "as",
        "asa",
        "aps",
        "a s",
        "sp z o o",
        "spzoo",
        "sro",
        "s r o",
        "doo",
        "d o o",
        "kft",
        "zrt",
        "ltda",
        "cvba",
        "bvba",
        "scrl",
        "ohg",
    )
]
_LEGAL_FORMS.sort(key=len, reverse=True)


def name_key(name: str | None) -> str:
    """The matching key of a partner's name: case folded, accents stripped,
    punctuation gone, legal-form suffixes trimmed. "Fraunhofer-Gesellschaft e.V."
    and "fraunhofer gesellschaft" have the same key."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("&", " and ")
    words = _NOT_WORD.sub(" ", text).replace("_", " ").split()
    trimmed = True
    while trimmed and len(words) > 1:
        trimmed = False
        for form in _LEGAL_FORMS:
            if len(words) > len(form) and tuple(words[-len(form) :]) == form:
                words = words[: -len(form)]
                trimmed = True
                break
    return " ".join(words)[:200]


@dataclass
class PartnerFields:
    """What is typed about an external partner."""

    name: str
    country: str
    kind: str = "other"
    city: str | None = None
    pic: str | None = None
    website: str | None = None


def partner_errors(fields: PartnerFields) -> dict[str, list[str]]:
    """Every field error, with the same words in the form and in the import."""
    checks = {
        "name": _("Enter the partner's name.") if not (fields.name or "").strip() else None,
        "country": (
            _("Choose the partner's country.") if not (fields.country or "").strip() else None
        )
        or check_known_country(fields.country),
        "kind": None if fields.kind in KINDS else _("Choose the kind of organisation."),
        "pic": check_pic(fields.pic),
        "website": check_url(fields.website),
    }
    return {field: [message] for field, message in checks.items() if message}


def find_partner(session, pic: str | None, name: str, country: str) -> Organisation | None:
    """The tenant's organisation with this PIC (member or external), else the
    external partner with the same name key in the same country (scoped query)."""
    pic = normalise_pic(pic)
    if pic:
        # Archived ones too: the PIC is unique per association, archived or not.
        found = session.scalar(select(Organisation).where(Organisation.pic == pic))
        if found is not None:
            return found
    key = name_key(name)
    if not key:
        return None
    query = select(Organisation).where(
        Organisation.country == country.strip().upper(),
        Organisation.name_key == key,
        Organisation.is_external.is_(True),
        Organisation.archived.is_(False),
    )
    if pic:
        # Another PIC is another organisation, whatever its name.
        query = query.where(Organisation.pic.is_(None))
    return session.scalar(query.order_by(Organisation.id).limit(1))


def record_external_partner(
    session, tenant_id: int, fields: PartnerFields, allowed_ids=None
) -> tuple[Organisation, bool]:
    """The external partner ``fields`` describe, and whether an existing one was
    reused (same PIC, else same name key and country). Flushes, never commits.

    Any user who may change a project's consortium may call it (a cluster
    manager included): it creates an external record, never a member.
    ``allowed_ids`` (a cluster manager's cluster and members; None = any) keeps
    a member outside them from being handed back when its PIC is typed.
    """
    errors = partner_errors(fields)
    if errors:
        raise RuleError(errors)
    country = fields.country.strip().upper()
    pic = normalise_pic(fields.pic)
    existing = find_partner(session, pic, fields.name, country)
    if existing is not None and not (
        existing.is_external or allowed_ids is None or existing.id in allowed_ids
    ):
        raise RuleError(
            _(
                "This PIC is recorded for a member of the association outside your cluster: "
                "ask the secretariat to add it."
            ),
            "pic",
        )
    if existing is not None:
        if pic and existing.pic is None and existing.is_external:
            existing.pic = pic  # learnt now: the next lookup by PIC finds it
            session.flush()
        return existing, True
    org = Organisation(
        tenant_id=tenant_id,
        is_external=True,
        kind=fields.kind,
        name=fields.name.strip(),
        country=country,
        city=(fields.city or "").strip() or None,
        website=(fields.website or "").strip() or None,
        pic=pic,
        name_key=name_key(fields.name),
        archived=False,
        discoverable=False,
    )
    org.refresh_size_class()
    session.add(org)
    session.flush()
    return org, False
