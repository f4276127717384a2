"""The registry of import kinds: what each kind reads (its fields and their types),
which planner checks its rows and which writer writes them. Every list of kinds
(the upload form's choices, the views, the jobs, the docs) comes from ``KINDS``.

The column names other tools give each field, and the words for each choice, in
the alliance's languages, are data: ``crm/data/import_vocabulary.json``, loaded
once. They are compared after ``reading.fold`` (case, accents, spaces and
punctuation ignored); earlier synonyms win over later ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from crm.i18n import _l
from crm.imports import contacts, organisations, projects
from crm.imports.reading import fold
from crm.models.membership import FEE_TIERS, MEMBERSHIP_STATUSES
from crm.models.organisation import KINDS as ORGANISATION_KINDS
from crm.models.organisation import NACE_REVISIONS, NUTS_REVISIONS
from crm.models.project import PARTICIPATION_ROLES, PROJECT_STATUSES

VOCABULARY_FILE = Path(__file__).resolve().parent.parent / "data" / "import_vocabulary.json"


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str = "text"  # text | code | int | decimal | year | date | bool | choice | email
    required: bool = False
    synonyms: tuple[str, ...] = ()
    max_length: int | None = None
    # canonical value -> words that mean it (folded when compared)
    choices: dict[str, tuple[str, ...]] | None = None
    hint: str | None = None
    # Amounts stored as NUMERIC(14, 2): rounded to cents, and no larger than the column holds.
    money: bool = False


# The largest amount a NUMERIC(14, 2) column holds.
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    fields: tuple[Field, ...]
    # Groups of fields of which at least one must be mapped (a reference by id or by name).
    one_of: tuple[tuple[str, ...], ...] = ()
    help: str = ""
    # planner(session, tenant, rows, plan, tick) and writer(session, tenant, plan, progress)
    planner: Callable | None = field(default=None, compare=False)
    writer: Callable | None = field(default=None, compare=False)
    by_key: dict[str, Field] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        self.by_key.update({f.key: f for f in self.fields})

    def required_keys(self) -> list[str]:
        return [f.key for f in self.fields if f.required]


def _load_vocabulary() -> tuple[dict, dict]:
    """(kind -> field -> synonyms, choice list name -> code -> words), with every
    code of a choice list present (its own code at least)."""
    data = json.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))
    shared = data["shared"]
    synonyms = {
        kind: {
            key: tuple(shared[words[1:]] if isinstance(words, str) else words)
            for key, words in fields_.items()
        }
        for kind, fields_ in data["fields"].items()
    }
    codes = {
        "organisation_kind": ORGANISATION_KINDS,
        "membership_status": MEMBERSHIP_STATUSES,
        "fee_tier": FEE_TIERS,
        "project_status": PROJECT_STATUSES,
        "role": PARTICIPATION_ROLES,
        "nuts_revision": NUTS_REVISIONS,
        "nace_revision": NACE_REVISIONS,
    }
    choices = {}
    for name, words in data["choices"].items():
        choices[name] = {code: tuple(w) for code, w in words.items()}
        for code in codes[name]:
            choices[name].setdefault(code, (code,))
    return synonyms, choices


_SYNONYMS, CHOICES = _load_vocabulary()


def _fields(kind: str) -> Callable[..., Field]:
    """A maker of ``kind``'s fields, with their synonyms and choices from the vocabulary."""

    def make(key: str, label: str, *args, choices: str | None = None, **options) -> Field:
        return Field(
            key,
            label,
            *args,
            synonyms=_SYNONYMS[kind].get(key, ()),
            choices=CHOICES[choices] if choices else None,
            **options,
        )

    return make


_organisations = _fields("organisations")
ORGANISATIONS = Kind(
    "organisations",
    _l("Organisations"),
    (
        _organisations("name", _l("Name"), required=True, max_length=200),
        _organisations(
            "kind",
            _l("Kind"),
            "choice",
            hint=_l("Empty cells are read as “firm”."),
            choices="organisation_kind",
        ),
        _organisations("legal_name", _l("Legal name"), max_length=250),
        _organisations("registration_id", _l("Registration id"), "code", max_length=40),
        _organisations("vat_id", _l("VAT number"), "code", max_length=20),
        _organisations("pic", "PIC", "code", max_length=11),
        _organisations("lei", "LEI", "code", max_length=24),
        _organisations("ror", _l("ROR id"), max_length=40),
        _organisations(
            "country", _l("Country"), "code", hint=_l("Empty cells take the association's country.")
        ),
        _organisations("street", _l("Street and number"), max_length=200),
        _organisations("postcode", _l("Postcode"), max_length=20),
        _organisations("city", _l("City"), max_length=120),
        _organisations("nuts2", _l("NUTS-2 region"), "code"),
        _organisations(
            "nuts_revision",
            _l("NUTS revision"),
            "choice",
            choices="nuts_revision",
            hint=_l("Empty cells are read as NUTS 2021."),
        ),
        _organisations("website", _l("Website"), max_length=250),
        _organisations("nace", _l("NACE code"), "code"),
        _organisations(
            "nace_revision",
            _l("NACE revision"),
            "choice",
            choices="nace_revision",
            hint=_l("Empty cells are read as NACE Rev. 2."),
        ),
        _organisations("employees", _l("Employees"), "int"),
        _organisations("turnover_eur", _l("Turnover (EUR)"), "decimal"),
        _organisations("balance_sheet_eur", _l("Balance-sheet total (EUR)"), "decimal"),
        _organisations("founded_year", _l("Year founded"), "year"),
        _organisations("is_startup", _l("Start-up"), "bool"),
        _organisations("description", _l("Description")),
        # The association membership (crm.imports.memberships): created when the
        # organisation has none, else its terms updated and a status change recorded.
        _organisations(
            "membership_status", _l("Membership status"), "choice", choices="membership_status"
        ),
        _organisations("member_since", _l("Member since"), "date"),
        _organisations("fee_tier", _l("Fee tier"), "choice", choices="fee_tier"),
        _organisations("paid_until", _l("Paid until"), "date"),
    ),
    help=_l(
        "Rows are matched to existing organisations by registration id, else by name and "
        "city. Membership columns record or update each organisation's membership."
    ),
    planner=organisations.plan_organisations,
    writer=organisations.write_organisations,
)

_contacts = _fields("contacts")
CONTACTS = Kind(
    "contacts",
    _l("Contacts"),
    (
        _contacts("first_name", _l("First name"), required=True, max_length=100),
        _contacts("last_name", _l("Last name"), required=True, max_length=100),
        _contacts("email", _l("E-mail"), "email", max_length=254),
        _contacts("phone", _l("Phone"), max_length=40),
        _contacts("job_title", _l("Job title"), max_length=120),
        _contacts("organisation_registration_id", _l("Organisation registration id"), "code"),
        _contacts("organisation_name", _l("Organisation name")),
        _contacts("organisation_city", _l("Organisation city")),
        _contacts("is_primary", _l("Primary contact"), "bool"),
        _contacts("consent_given", _l("Consent given"), "bool"),
        _contacts("consent_date", _l("Consent date"), "date"),
        # E-mail consent per purpose (crm.mail.consent): yes, no, or blank for "as it is".
        _contacts("mail_membership", _l("E-mail: membership communications"), "bool"),
        _contacts("mail_newsletters", _l("E-mail: newsletters and events"), "bool"),
    ),
    one_of=(("organisation_registration_id", "organisation_name"),),
    help=_l(
        "Contacts are attached to organisations already in the directory (by registration "
        "id or name) and matched to existing contacts by e-mail."
    ),
    planner=contacts.plan_contacts,
    writer=contacts.write_contacts,
)

_projects = _fields("projects")
PROJECTS = Kind(
    "projects",
    _l("Projects"),
    (
        _projects("programme_code", _l("Programme"), "programme", required=True),
        _projects("acronym", _l("Acronym"), required=True, max_length=40),
        _projects("title", _l("Title"), required=True, max_length=300),
        _projects("grant_number", _l("Grant agreement number"), "code", max_length=40),
        _projects("call_id", _l("Call id"), max_length=80),
        _projects("status", _l("Status"), "choice", required=True, choices="project_status"),
        _projects("start_date", _l("Start date"), "date"),
        _projects("end_date", _l("End date"), "date"),
        _projects("total_budget", _l("Total budget (EUR)"), "decimal", money=True),
        _projects("eu_contribution", _l("EU contribution (EUR)"), "decimal", money=True),
        _projects("description", _l("Description")),
    ),
    help=_l(
        "Projects are matched to existing ones by programme and grant agreement number "
        "(normalised), else by programme and acronym."
    ),
    planner=projects.plan_projects,
    writer=projects.write_projects,
)

_participations = _fields("participations")
PARTICIPATIONS = Kind(
    "participations",
    _l("Project participations"),
    (
        _participations("project_grant_number", _l("Project grant number"), "code"),
        _participations("project_acronym", _l("Project acronym")),
        _participations(
            "programme_code",
            _l("Programme"),
            "programme",
            hint=_l("Only needed when a grant number or acronym is used in two programmes."),
        ),
        _participations("organisation_registration_id", _l("Organisation registration id"), "code"),
        _participations("organisation_name", _l("Organisation name")),
        _participations("organisation_city", _l("Organisation city")),
        _participations("role", _l("Role"), "choice", required=True, choices="role"),
        _participations("budget_share", _l("Budget share (EUR)"), "decimal", money=True),
        # An organisation not recorded yet becomes an external partner when the
        # row gives its country (crm.projects.partners).
        _participations(
            "participant_country",
            _l("Participant country (external partners)"),
            "code",
            hint=_l("For a participant not recorded yet: it is created as an external partner."),
        ),
        _participations(
            "participant_pic",
            _l("Participant PIC"),
            "code",
            hint=_l("The EU Participant Identification Code (9 digits)."),
        ),
        _participations(
            "participant_kind",
            _l("Participant kind (external partners)"),
            "choice",
            choices="organisation_kind",
            hint=_l("Empty cells are read as “other”."),
        ),
    ),
    one_of=(
        ("project_grant_number", "project_acronym"),
        ("organisation_registration_id", "organisation_name"),
    ),
    help=_l(
        "Each row names a project (grant number or acronym) and an organisation "
        "(registration id or name) already recorded in this association; a participant not "
        "recorded yet is created as an external partner when the row gives its country (and "
        "optionally its PIC)."
    ),
    planner=projects.plan_participations,
    writer=projects.write_participations,
)


KINDS = (ORGANISATIONS, CONTACTS, PROJECTS, PARTICIPATIONS)
KINDS_BY_KEY = {k.key: k for k in KINDS}


# A trailing unit in a header: "(EUR)", "[€]", "in EUR", "- euros". Thousands
# ("k€", "TEUR") are not a unit to drop: the amount would be read 1,000 times too small.
_UNIT = re.compile(
    r"\s*(?:[(\[]\s*(?:eur|euro|euros|€)\s*[)\]]|(?:-|in|en|w|v)?\s*(?:eur|euros?|€))\s*$", re.I
)


def _label_words(f: Field) -> tuple[str, str]:
    """A field's label as a header may write it: in English (the source text of the
    lazy label) and in the user's language, so matching does not depend on who uploads."""
    return getattr(f.label, "_args", (f.label,))[0], str(f.label)


def suggest_mapping(kind: Kind, headers: list[str]) -> dict[str, str]:
    """field key -> header, for the headers whose (folded) name is a known synonym.

    Each header goes to one field: the field for which it is the earliest
    synonym wins, and a required field never stays empty while a header that
    could fill it went to an optional one.
    """
    folded = {}
    for h in headers:  # "Chiffre d'affaires (EUR)" is also read as "Chiffre d'affaires"
        folded.setdefault(fold(h), h)
        folded.setdefault(fold(_UNIT.sub("", h)) or fold(h), h)
    candidates = []  # (rank, field order, field key, header)
    for order, f in enumerate(kind.fields):
        words = (f.key, *_label_words(f), *f.synonyms)
        for rank, word in enumerate(words):
            header = folded.get(fold(word))
            if header is not None:
                candidates.append((rank, order, f.key, header))
    candidates.sort()
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for _rank, _order, key, header in candidates:
        if key not in mapping and header not in used:
            mapping[key] = header
            used.add(header)
    # A required field left out: take a header an optional field took from it.
    for f in kind.fields:
        if not f.required or f.key in mapping:
            continue
        words = {fold(w) for w in (f.key, *_label_words(f), *f.synonyms)}
        for other, header in list(mapping.items()):
            if fold(header) in words and not kind.by_key[other].required:
                del mapping[other]
                mapping[f.key] = header
                break
    return mapping


_CHOICE_INDEXES: dict[int, dict[str, str]] = {}


def match_choice(value: str, choices: dict[str, tuple[str, ...]]) -> str | None:
    """The canonical choice a cell means ('Coordinateur' -> 'coordinator'), or None."""
    index = _CHOICE_INDEXES.get(id(choices))
    if index is None:
        index = {}
        for code, words in choices.items():
            for word in (*words, code):  # the code itself wins over a synonym
                index[fold(word)] = code
        _CHOICE_INDEXES[id(choices)] = index
    return index.get(fold(value))
