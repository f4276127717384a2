"""Official identifiers of organisations (PIC, VAT, national registry number, LEI, ROR):
their checks and stored forms, with python-stdnum's national modules where there is one.

Each ``check_*`` returns an error message or ``None`` (blank is acceptable: whether a
field is required is the caller's decision); each ``normalise_*`` gives the form stored
and matched on (the compact form when a module validated the number, else as typed).
"""

from __future__ import annotations

import re
from importlib import import_module
from types import ModuleType

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from crm.i18n import _

PIC_LENGTH = 9
_PIC = re.compile(r"^\d{9}$")
_SEPARATORS = re.compile(r"[\s.\-/]+")
# The two-letter prefix, then 2 to 16 letters/digits (CHE...MWST is the longest);
# without a national module that is all that is checked.
_VAT = re.compile(r"^([A-Z]{2})([0-9A-Z+*]{2,16})$")
# VAT prefixes differ from ISO 3166 for Greece (and Northern Ireland, XI, is GB).
VAT_COUNTRY = {"GR": "EL"}
# A registry number without a national module: letters, digits and common
# separators, at least one digit (kept as typed).
_REGISTRATION = re.compile(r"^(?=.*\d)[0-9A-Za-z][0-9A-Za-z ./-]{1,38}[0-9A-Za-z]$")
# ROR: "0", six Crockford base-32 characters, two check digits (ISO 7064 mod 97-10).
_ROR_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ROR = re.compile(r"^0[0-9a-hjkmnp-tv-z]{6}\d{2}$")
_ROR_PREFIX = re.compile(r"^(https?://)?(www\.)?ror\.org/", re.I)
ROR_KINDS = ("university", "research_org")

# The national registry numbers python-stdnum checks, per country: the modules
# tried in order, and how people call the number. Other countries' numbers (KRS,
# KvK, Companies House, IČO of Slovakia, ...) are kept as typed.
REGISTRIES: dict[str, tuple[tuple[str, ...], str]] = {
    "AL": (("al.nipt",), "NIPT"),
    "AT": (("at.businessid",), "Firmenbuchnummer"),
    "BE": (("be.vat",), "enterprise number (KBO/BCE)"),
    "BG": (("bg.vat",), "EIK/BULSTAT"),
    "CH": (("ch.uid",), "UID"),
    # The IČO of a legal person is its DIČ without the CZ prefix (same check digit).
    "CZ": (("cz.dic",), "IČO"),
    "DE": (("de.handelsregisternummer",), "Handelsregisternummer"),
    "DK": (("dk.cvr",), "CVR"),
    "EE": (("ee.registrikood",), "registrikood"),
    "ES": (("es.cif", "es.nif"), "CIF/NIF"),
    "FI": (("fi.ytunnus",), "Y-tunnus"),
    "FR": (("fr.siren", "fr.siret"), "SIREN/SIRET"),
    "HR": (("hr.oib",), "OIB"),
    "IS": (("is_.kennitala",), "kennitala"),
    "IT": (("it.iva", "it.codicefiscale"), "partita IVA / codice fiscale"),
    "MK": (("mk.edb",), "EDB"),
    "NO": (("no.orgnr",), "organisasjonsnummer"),
    "PL": (("pl.regon", "pl.nip"), "REGON/NIP"),
    "PT": (("pt.nif",), "NIPC"),
    "RO": (("ro.cui", "ro.onrc"), "CUI/ONRC"),
    "RS": (("rs.pib",), "PIB"),
    "SE": (("se.orgnr",), "organisationsnummer"),
    "SI": (("si.maticna",), "matična številka"),
    "TR": (("tr.vkn",), "VKN"),
    "UA": (("ua.edrpou",), "EDRPOU"),
}


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _country(value) -> str | None:
    return None if _blank(value) else re.sub(r"\s+", "", str(value)).upper()


def _module(name: str) -> ModuleType:
    return import_module(f"stdnum.{name}")


# -- PIC ---------------------------------------------------------------------


def normalise_pic(value: str | None) -> str | None:
    """Spaces and dashes dropped ("999 999 999" -> "999999999"); blank -> None."""
    if value is None:
        return None
    value = re.sub(r"[\s-]+", "", str(value))
    return value or None


def check_pic(value: str | None) -> str | None:
    pic = normalise_pic(value)
    if pic is not None and not _PIC.match(pic):
        return _("A PIC is 9 digits (the EU Participant Identification Code).")
    return None


# -- VAT ---------------------------------------------------------------------


def _vat_prefix(country: str) -> str:
    return VAT_COUNTRY.get(country, country)


def _vat_module(prefix: str) -> ModuleType | None:
    """The stdnum module checking a VAT number with this prefix, if any."""
    if prefix.lower() in eu_vat.MEMBER_STATES or prefix == "EL":
        return eu_vat
    if not prefix.isalpha():
        return None
    return get_cc_module(prefix.lower(), "vat")


def _vat_validate(code: str) -> str | None:
    """The compact VAT number when a module accepts ``code``, '' when none exists for
    its prefix, None when the module rejects it."""
    module = _vat_module(code[:2])
    if module is None:
        return ""
    # National modules differ on whether the number carries its prefix.
    for candidate in (code, code[2:]):
        try:
            number = module.validate(candidate)
        except ValidationError:
            continue
        number = str(number).upper()
        return number if number.startswith(code[:2]) else code[:2] + number
    return None


def check_vat_id(value: str | None, country: str | None = None) -> str | None:
    """A VAT number with its country prefix, checked by the country's stdnum module
    (check digits and length); for a country without one, prefix + 2-13 characters."""
    if _blank(value):
        return None
    code = _SEPARATORS.sub("", str(value)).upper()
    country = _country(country)
    match = _VAT.match(code)
    if not match or not any(ch.isdigit() for ch in match.group(2)):
        return _("Enter a VAT number: the country prefix and the number, such as FR40303265045.")
    if country:
        expected = _vat_prefix(country)
        if match.group(1) != expected:
            return _(
                "A VAT number in %(country)s starts with %(prefix)s.",
                country=country,
                prefix=expected,
            )
    if _vat_validate(code) is None:
        return _(
            "This is not a valid %(country)s VAT number: check its digits.",
            country=match.group(1),
        )
    return None


def normalise_vat(value: str | None) -> str | None:
    """The compact form (prefix and number, no separators); blank -> None."""
    if _blank(value):
        return None
    code = _SEPARATORS.sub("", str(value)).upper()
    return _vat_validate(code) or code


# -- national registry number -------------------------------------------------


def _registry_compact(value: str, country: str | None) -> str | None:
    """The compact number when one of ``country``'s modules accepts it, else None."""
    names, _ = REGISTRIES.get(country or "", ((), ""))
    for name in names:
        module = _module(name)
        try:
            number = str(module.validate(value))
        except ValidationError:
            continue
        if name == "cz.dic" and len(number) != 8:  # a person's birth number is no IČO
            continue
        return number
    return None


def check_registration_id(value: str | None, country: str | None = None) -> str | None:
    """The national registry number, checked by stdnum where it has the country's
    module (REGISTRIES); otherwise letters, digits and separators, kept as typed."""
    if _blank(value):
        return None
    value = str(value).strip()
    country = _country(country)
    if country in REGISTRIES:
        if _registry_compact(value, country) is None:
            label = REGISTRIES[country][1]
            return _(
                "Enter a valid %(label)s (%(country)s registration number): check its digits.",
                label=label,
                country=country,
            )
        return None
    if not _REGISTRATION.match(value):
        return _("Enter the registration number: letters, digits, spaces, dots, dashes or slashes.")
    return None


def normalise_registration_id(value: str | None, country: str | None = None) -> str | None:
    """The compact form when the country's module accepts it, else as typed (trimmed)."""
    if _blank(value):
        return None
    value = str(value).strip()
    return _registry_compact(value, _country(country)) or value


# -- LEI and ROR ---------------------------------------------------------------


def normalise_lei(value: str | None) -> str | None:
    return None if _blank(value) else _SEPARATORS.sub("", str(value)).upper()


def check_lei(value: str | None) -> str | None:
    """An ISO 17442 Legal Entity Identifier: 20 characters, ISO 7064 mod 97-10."""
    if _blank(value):
        return None
    from stdnum import lei

    if not lei.is_valid(normalise_lei(value)):
        return _("Enter a valid LEI: 20 letters and digits, such as 529900T8BM49AURSDO55.")
    return None


def normalise_ror(value: str | None) -> str | None:
    """The nine-character ROR id: 'https://ror.org/03VEK6S52' -> '03vek6s52'."""
    if _blank(value):
        return None
    return _ROR_PREFIX.sub("", str(value).strip()).strip("/").lower()


def _ror_checksum(body: str) -> int:
    number = 0
    for ch in body:
        number = number * 32 + _ROR_ALPHABET.index(ch)
    return 98 - (number * 100) % 97


def check_ror(value: str | None, kind: str | None = None) -> str | None:
    """A Research Organization Registry id (with or without https://ror.org/),
    for universities and research organisations only."""
    if _blank(value):
        return None
    ror = normalise_ror(value)
    if not _ROR.match(ror) or _ror_checksum(ror[1:7]) != int(ror[7:]):
        return _("Enter a valid ROR id, such as 03vek6s52 or https://ror.org/03vek6s52.")
    if kind and kind not in ROR_KINDS:
        return _("A ROR id is recorded for universities and research organisations only.")
    return None


# The stored form of each identifier column, from its typed value and the country.
STORED_FORMS = {
    "vat_id": lambda value, country: normalise_vat(value),
    "registration_id": normalise_registration_id,
    "pic": lambda value, country: normalise_pic(value),
    "lei": lambda value, country: normalise_lei(value),
    "ror": lambda value, country: normalise_ror(value),
}
