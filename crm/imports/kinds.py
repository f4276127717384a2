"""What each kind of import reads: its fields, their types, and the column names
other tools (in the alliance's languages) give them.

A field's ``synonyms`` are compared after ``reading.fold`` (case, accents,
spaces and punctuation ignored); earlier synonyms win over later ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from crm.imports.reading import fold
from crm.models.organisation import KINDS
from crm.models.project import PROJECT_STATUSES, ROLES


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
    by_key: dict[str, Field] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        self.by_key.update({f.key: f for f in self.fields})

    def required_keys(self) -> list[str]:
        return [f.key for f in self.fields if f.required]


REGISTRATION_WORDS = (
    "registration id",
    "registration number",
    "registration no",
    "company number",
    "company id",
    "business id",
    "siret",
    "siren",
    "cif",
    "nif",
    "nip",
    "regon",
    "krs",
    "ico",
    "ic",
    "eik",
    "bulstat",
    "cui",
    "cod fiscal",
    "cod unic de inregistrare",
    "y-tunnus",
    "imones kodas",
    "registracijas numurs",
    "cegjegyzekszam",
    "nipc",
    "numero de registro",
    "numero d'immatriculation",
    "identifiant",
    "handelsregisternummer",
    "еик",
    "булстат",
    "id",
)
ORG_NAME_WORDS = (
    "name",
    "organisation",
    "organization",
    "organisation name",
    "organization name",
    "company",
    "company name",
    "nom",
    "nom de l'organisation",
    "nombre",
    "nazwa",
    "nazwa firmy",
    "nazev",
    "nev",
    "pavadinimas",
    "nosaukums",
    "nimi",
    "denumire",
    "nome",
    "ime",
    "entreprise",
    "empresa",
    "firma",
    "organizacja",
    "societe",
    "unternehmen",
    "razon social",
    "raison sociale",
    "denominacion",
    "denominacion social",
    "име",
    "наименование",
    "фирма",
)
CITY_WORDS = (
    "city",
    "town",
    "ville",
    "ciudad",
    "miasto",
    "localite",
    "localidad",
    "municipio",
    "poblacion",
    "stadt",
    "ort",
    "mesto",
    "varos",
    "miestas",
    "pilseta",
    "kaupunki",
    "oras",
    "localitate",
    "cidade",
    "grad",
    "commune",
    "municipality",
    "град",
    "населено място",
)

ORGANISATION_KIND_WORDS = {
    "firm": (
        "firm",
        "company",
        "enterprise",
        "business",
        "sme",
        "pme",
        "pyme",
        "entreprise",
        "empresa",
        "firma",
        "przedsiebiorstwo",
        "unternehmen",
        "spolecnost",
        "vallalat",
        "imone",
        "uznemums",
        "yritys",
        "societate",
        "startup",
        "large company",
    ),
    "university": (
        "university",
        "universite",
        "universidad",
        "uniwersytet",
        "universitat",
        "hochschule",
        "univerzita",
        "egyetem",
        "universitetas",
        "universitate",
        "universidade",
        "higher education",
    ),
    "research_org": (
        "research organisation",
        "research organization",
        "research",
        "rto",
        "research centre",
        "research center",
        "technology centre",
        "centre de recherche",
        "centro tecnologico",
        "centro de investigacion",
        "instytut badawczy",
        "forschungseinrichtung",
    ),
    "cluster": (
        "cluster",
        "cluster organisation",
        "cluster organization",
        "pole",
        "pole de competitivite",
        "klaster",
        "klastr",
        "klaszter",
        "klasteris",
        "klasteri",
    ),
    "public_body": (
        "public body",
        "public authority",
        "authority",
        "agency",
        "region",
        "administration",
        "collectivite",
        "administracion publica",
        "administracja publiczna",
        "government",
    ),
    "investor": ("investor", "investisseur", "inversor", "inwestor", "venture capital", "fund"),
    "other": ("other", "autre", "otro", "inny", "chamber", "science park", "business support"),
}
for _code in KINDS:
    ORGANISATION_KIND_WORDS.setdefault(_code, (_code,))

ORGANISATIONS = Kind(
    "organisations",
    "Organisations",
    (
        Field("name", "Name", required=True, synonyms=ORG_NAME_WORDS, max_length=200),
        Field(
            "kind",
            "Kind",
            "choice",
            synonyms=(
                "kind",
                "type",
                "organisation type",
                "organization type",
                "category",
                "type d'organisation",
                "tipo",
                "tipo de entidad",
                "typ",
                "rodzaj",
                "art",
                "tipus",
                "tyyppi",
            ),
            choices=ORGANISATION_KIND_WORDS,
            hint="Empty cells are read as “firm”.",
        ),
        Field(
            "legal_name",
            "Legal name",
            synonyms=(
                "legal name",
                "official name",
                "razon social",
                "raison sociale",
                "denominacion social",
                "nom legal",
                "nombre legal",
                "full name",
            ),
            max_length=250,
        ),
        Field(
            "registration_id", "Registration id", "code", synonyms=REGISTRATION_WORDS, max_length=40
        ),
        Field(
            "vat_id",
            "VAT number",
            "code",
            synonyms=(
                "vat",
                "vat id",
                "vat number",
                "vat no",
                "tva",
                "numero de tva",
                "n tva",
                "tva intracommunautaire",
                "iva",
                "nif iva",
                "ust-idnr",
                "ustid",
                "dic",
                "nip ue",
                "pvm kodas",
                "pvn",
                "alv",
                "adoszam",
            ),
            max_length=20,
        ),
        Field(
            "country",
            "Country",
            "code",
            synonyms=("country", "country code", "pays", "pais", "kraj", "land", "stat", "iso"),
            hint="Empty cells take the association's country.",
        ),
        Field("city", "City", synonyms=CITY_WORDS, max_length=120),
        Field(
            "nuts2",
            "NUTS-2 region",
            "code",
            synonyms=("nuts2", "nuts 2", "nuts", "nuts code", "region code", "nuts-2 region"),
        ),
        Field(
            "website",
            "Website",
            synonyms=(
                "website",
                "web",
                "url",
                "site",
                "site web",
                "site internet",
                "sitio web",
                "pagina web",
                "strona www",
                "strona internetowa",
                "www",
                "homepage",
                "webseite",
            ),
            max_length=250,
        ),
        Field(
            "nace",
            "NACE code",
            "code",
            synonyms=(
                "nace",
                "nace code",
                "naf",
                "code naf",
                "ape",
                "code ape",
                "cnae",
                "pkd",
                "okec",
                "teaor",
                "caen",
                "cae",
            ),
        ),
        Field(
            "employees",
            "Employees",
            "int",
            synonyms=(
                "employees",
                "staff",
                "headcount",
                "number of employees",
                "staff headcount",
                "effectif",
                "effectifs",
                "salaries",
                "empleados",
                "trabajadores",
                "plantilla",
                "pracownicy",
                "liczba pracownikow",
                "zatrudnienie",
                "mitarbeiter",
                "beschaftigte",
                "zamestnanci",
                "pocet zamestnancu",
                "letszam",
                "darbuotojai",
                "darbinieki",
                "henkilosto",
                "angajati",
                "empregados",
                "fte",
            ),
        ),
        Field(
            "turnover_eur",
            "Turnover (EUR)",
            "decimal",
            synonyms=(
                "turnover",
                "turnover eur",
                "revenue",
                "sales",
                "chiffre d'affaires",
                "ca",
                "facturacion",
                "cifra de negocios",
                "ventas",
                "obroty",
                "przychody",
                "przychod",
                "umsatz",
                "obrat",
                "arbevetel",
                "apyvarta",
                "apgrozijums",
                "liikevaihto",
                "cifra de afaceri",
                "volume de negocios",
            ),
        ),
        Field(
            "balance_sheet_eur",
            "Balance-sheet total (EUR)",
            "decimal",
            synonyms=(
                "balance sheet",
                "balance sheet total",
                "balance sheet eur",
                "total bilan",
                "bilan",
                "total balance",
                "balance",
                "suma bilansowa",
                "bilanzsumme",
                "aktiva",
                "merlegfoosszeg",
                "balanso suma",
                "total activ",
                "total activo",
                "activo total",
                "total del activo",
                "total assets",
            ),
        ),
        Field(
            "founded_year",
            "Year founded",
            "year",
            synonyms=(
                "founded",
                "year founded",
                "founded year",
                "founded in",
                "established",
                "annee de creation",
                "creation",
                "ano de fundacion",
                "fundacion",
                "rok zalozenia",
                "grundungsjahr",
                "rok zalozeni",
                "alapitas eve",
            ),
        ),
        Field(
            "is_startup",
            "Start-up",
            "bool",
            synonyms=("startup", "start-up", "is startup", "jeune pousse"),
        ),
        Field(
            "description",
            "Description",
            synonyms=(
                "description",
                "descripcion",
                "opis",
                "beschreibung",
                "popis",
                "activity",
                "activite",
                "actividad",
                "dzialalnosc",
            ),
        ),
    ),
    help="Rows are matched to existing organisations by registration id, else by name and city.",
)

CONTACTS = Kind(
    "contacts",
    "Contacts",
    (
        Field(
            "first_name",
            "First name",
            required=True,
            synonyms=(
                "first name",
                "firstname",
                "given name",
                "forename",
                "prenom",
                "nombre",
                "imie",
                "vorname",
                "jmeno",
                "keresztnev",
                "vardas",
                "vards",
                "etunimi",
                "prenume",
                "primeiro nome",
            ),
            max_length=100,
        ),
        Field(
            "last_name",
            "Last name",
            required=True,
            synonyms=(
                "last name",
                "lastname",
                "surname",
                "family name",
                "nom",
                "nom de famille",
                "apellido",
                "apellidos",
                "nazwisko",
                "nachname",
                "prijmeni",
                "vezeteknev",
                "pavarde",
                "uzvards",
                "sukunimi",
                "nume",
                "apelido",
                "name",
            ),
            max_length=100,
        ),
        Field(
            "email",
            "E-mail",
            "email",
            synonyms=(
                "email",
                "e-mail",
                "mail",
                "email address",
                "courriel",
                "adresse e-mail",
                "correo",
                "correo electronico",
                "adres email",
                "e-mail adresse",
                "sahkoposti",
                "e-posts",
                "el pastas",
            ),
            max_length=254,
        ),
        Field(
            "phone",
            "Phone",
            synonyms=(
                "phone",
                "telephone",
                "tel",
                "telefono",
                "telefon",
                "mobile",
                "gsm",
                "movil",
                "portable",
                "phone number",
                "puhelin",
                "telefone",
            ),
            max_length=40,
        ),
        Field(
            "job_title",
            "Job title",
            synonyms=(
                "job title",
                "title",
                "position",
                "function",
                "role",
                "fonction",
                "poste",
                "cargo",
                "puesto",
                "stanowisko",
                "funkcja",
                "funktion",
                "pozice",
                "beosztas",
                "pareigos",
                "amats",
                "tehtava",
            ),
            max_length=120,
        ),
        Field(
            "organisation_registration_id",
            "Organisation registration id",
            "code",
            synonyms=(
                "organisation registration id",
                "organization registration id",
                "company registration id",
                *REGISTRATION_WORDS,
            ),
        ),
        Field(
            "organisation_name",
            "Organisation name",
            synonyms=(
                "organisation",
                "organization",
                "organisation name",
                "organization name",
                "company",
                "company name",
                "entreprise",
                "societe",
                "organisme",
                "empresa",
                "entidad",
                "firma",
                "nazwa firmy",
                "organizacja",
                "unternehmen",
                "organizace",
            ),
        ),
        Field("organisation_city", "Organisation city", synonyms=CITY_WORDS),
        Field(
            "is_primary",
            "Primary contact",
            "bool",
            synonyms=(
                "primary",
                "primary contact",
                "main contact",
                "contact principal",
                "principal",
                "contacto principal",
                "glowny",
                "hauptkontakt",
            ),
        ),
        Field(
            "consent_given",
            "Consent given",
            "bool",
            synonyms=(
                "consent",
                "consent given",
                "gdpr consent",
                "gdpr",
                "consentement",
                "rgpd",
                "consentimiento",
                "zgoda",
                "rodo",
                "einwilligung",
                "dsgvo",
                "souhlas",
            ),
        ),
        Field(
            "consent_date",
            "Consent date",
            "date",
            synonyms=(
                "consent date",
                "date of consent",
                "date de consentement",
                "date consentement",
                "fecha consentimiento",
                "fecha de consentimiento",
                "data zgody",
                "einwilligungsdatum",
            ),
        ),
    ),
    one_of=(("organisation_registration_id", "organisation_name"),),
    help="Contacts are attached to organisations already in the directory (by registration "
    "id or name) and matched to existing contacts by e-mail.",
)

PROJECT_STATUS_WORDS = {
    "proposal": (
        "proposal",
        "draft",
        "in preparation",
        "preparation",
        "idea",
        "projet",
        "propuesta",
        "wniosek w przygotowaniu",
    ),
    "submitted": (
        "submitted",
        "soumis",
        "depose",
        "presentado",
        "presentada",
        "zlozony",
        "eingereicht",
        "under evaluation",
        "pending",
    ),
    "funded": (
        "funded",
        "granted",
        "awarded",
        "accepted",
        "selected",
        "finance",
        "retenu",
        "financiado",
        "concedido",
        "aprobado",
        "dofinansowany",
        "gefordert",
    ),
    "rejected": (
        "rejected",
        "not funded",
        "refused",
        "declined",
        "unsuccessful",
        "rejete",
        "refuse",
        "non retenu",
        "rechazado",
        "denegado",
        "odrzucony",
        "abgelehnt",
    ),
    "running": (
        "running",
        "ongoing",
        "active",
        "in progress",
        "en cours",
        "en curso",
        "en ejecucion",
        "w realizacji",
        "laufend",
    ),
    "closed": (
        "closed",
        "finished",
        "completed",
        "ended",
        "termine",
        "cloture",
        "finalizado",
        "cerrado",
        "zakonczony",
        "abgeschlossen",
    ),
}
for _code in PROJECT_STATUSES:
    PROJECT_STATUS_WORDS.setdefault(_code, (_code,))

ROLE_WORDS = {
    "coordinator": (
        "coordinator",
        "coordinateur",
        "coordinador",
        "koordynator",
        "koordinator",
        "lead",
        "lead partner",
        "chef de file",
        "lider",
        "coo",
    ),
    "partner": (
        "partner",
        "beneficiary",
        "participant",
        "partenaire",
        "beneficiaire",
        "socio",
        "beneficiario",
        "partner projektu",
        "beneficjent",
        "projektpartner",
    ),
    "associated_partner": (
        "associated partner",
        "associated",
        "partenaire associe",
        "socio asociado",
        "partner stowarzyszony",
    ),
    "third_party": (
        "third party",
        "linked third party",
        "affiliated entity",
        "affiliated",
        "tiers lie",
        "tercero vinculado",
    ),
    "subcontractor": (
        "subcontractor",
        "sous-traitant",
        "subcontratista",
        "podwykonawca",
        "unterauftragnehmer",
    ),
}
for _code in ROLES:
    ROLE_WORDS.setdefault(_code, (_code,))

GRANT_WORDS = (
    "grant number",
    "grant agreement number",
    "grant agreement",
    "grant agreement no",
    "grant",
    "ga number",
    "ga",
    "contract number",
    "project number",
    "numero de convention",
    "numero de subvention",
    "n de convention",
    "numero de contrato",
    "numero de expediente",
    "expediente",
    "nr umowy",
    "numer umowy",
    "forderkennzeichen",
    "project id",
)
PROGRAMME_WORDS = (
    "programme",
    "program",
    "programa",
    "programme code",
    "funding programme",
    "funding program",
    "programm",
    "fonds",
    "fund",
    "instrument",
)
ACRONYM_WORDS = (
    "acronym",
    "project acronym",
    "acronyme",
    "acronimo",
    "akronim",
    "short name",
    "nom court",
    "project",
)

PROJECTS = Kind(
    "projects",
    "Projects",
    (
        Field("programme_code", "Programme", "programme", required=True, synonyms=PROGRAMME_WORDS),
        Field("acronym", "Acronym", required=True, synonyms=ACRONYM_WORDS, max_length=40),
        Field(
            "title",
            "Title",
            required=True,
            synonyms=(
                "title",
                "project title",
                "titre",
                "titre du projet",
                "titulo",
                "titulo del proyecto",
                "tytul",
                "tytul projektu",
                "nazwa projektu",
                "titel",
                "nazev projektu",
                "project name",
                "name",
            ),
            max_length=300,
        ),
        Field(
            "grant_number", "Grant agreement number", "code", synonyms=GRANT_WORDS, max_length=40
        ),
        Field(
            "call_id",
            "Call id",
            synonyms=(
                "call",
                "call id",
                "call identifier",
                "topic",
                "appel",
                "appel a projets",
                "convocatoria",
                "nabor",
                "ausschreibung",
            ),
            max_length=80,
        ),
        Field(
            "status",
            "Status",
            "choice",
            required=True,
            synonyms=("status", "statut", "estado", "stan", "state", "phase", "etat"),
            choices=PROJECT_STATUS_WORDS,
        ),
        Field(
            "start_date",
            "Start date",
            "date",
            synonyms=(
                "start",
                "start date",
                "date de debut",
                "debut",
                "fecha de inicio",
                "inicio",
                "data rozpoczecia",
                "beginn",
                "projektbeginn",
                "zacatek",
            ),
        ),
        Field(
            "end_date",
            "End date",
            "date",
            synonyms=(
                "end",
                "end date",
                "date de fin",
                "fin",
                "fecha de fin",
                "fecha de finalizacion",
                "data zakonczenia",
                "ende",
                "projektende",
                "konec",
            ),
        ),
        Field(
            "total_budget",
            "Total budget (EUR)",
            "decimal",
            money=True,
            synonyms=(
                "total budget",
                "budget",
                "total cost",
                "budget total",
                "cout total",
                "presupuesto",
                "presupuesto total",
                "budzet",
                "koszt calkowity",
                "gesamtbudget",
                "rozpocet",
                "total eligible cost",
            ),
        ),
        Field(
            "eu_contribution",
            "EU contribution (EUR)",
            "decimal",
            money=True,
            synonyms=(
                "eu contribution",
                "eu funding",
                "ec contribution",
                "eu grant",
                "contribution ue",
                "subvention ue",
                "financement ue",
                "contribucion ue",
                "ayuda ue",
                "dofinansowanie ue",
                "eu forderung",
                "grant amount",
                "requested grant",
            ),
        ),
        Field(
            "description",
            "Description",
            synonyms=(
                "description",
                "summary",
                "abstract",
                "resume",
                "descripcion",
                "resumen",
                "opis",
                "beschreibung",
            ),
        ),
    ),
    help="Projects are matched to existing ones by programme and grant agreement number "
    "(normalised), else by programme and acronym.",
)

PARTICIPATIONS = Kind(
    "participations",
    "Project participations",
    (
        Field("project_grant_number", "Project grant number", "code", synonyms=GRANT_WORDS),
        Field("project_acronym", "Project acronym", synonyms=ACRONYM_WORDS),
        Field(
            "programme_code",
            "Programme",
            "programme",
            synonyms=PROGRAMME_WORDS,
            hint="Only needed when a grant number or acronym is used in two programmes.",
        ),
        Field(
            "organisation_registration_id",
            "Organisation registration id",
            "code",
            synonyms=(
                "organisation registration id",
                "organization registration id",
                "participant registration id",
                *REGISTRATION_WORDS,
            ),
        ),
        Field(
            "organisation_name",
            "Organisation name",
            synonyms=(
                "organisation",
                "organization",
                "organisation name",
                "participant",
                "participant name",
                "partner name",
                "beneficiary",
                "company",
                "entreprise",
                "empresa",
                "entidad",
                "firma",
                "organizacja",
                "nazwa",
                "nom",
                "nombre",
                "name",
            ),
        ),
        Field("organisation_city", "Organisation city", synonyms=CITY_WORDS),
        Field(
            "role",
            "Role",
            "choice",
            required=True,
            synonyms=(
                "role",
                "participant role",
                "partner role",
                "rol",
                "rola",
                "funkcja w projekcie",
                "type of participation",
                "participation",
            ),
            choices=ROLE_WORDS,
        ),
        Field(
            "budget_share",
            "Budget share (EUR)",
            "decimal",
            money=True,
            synonyms=(
                "budget share",
                "partner budget",
                "participant budget",
                "share",
                "budget",
                "part du budget",
                "presupuesto del socio",
                "udzial w budzecie",
                "budzet partnera",
                "partnerbudget",
            ),
        ),
        # An organisation not recorded yet becomes an external partner when the
        # row gives its country (crm.projects.partners).
        Field(
            "participant_country",
            "Participant country (external partners)",
            "code",
            synonyms=("participant country", "partner country", "organisation country"),
            hint="For a participant not recorded yet: it is created as an external partner.",
        ),
        Field(
            "participant_pic",
            "Participant PIC",
            "code",
            synonyms=("participant pic", "pic", "pic number", "partner pic"),
            hint="The EU Participant Identification Code (9 digits).",
        ),
        Field(
            "participant_kind",
            "Participant kind (external partners)",
            "choice",
            synonyms=("participant kind", "participant type", "partner type"),
            choices=ORGANISATION_KIND_WORDS,
            hint="Empty cells are read as “other”.",
        ),
    ),
    one_of=(
        ("project_grant_number", "project_acronym"),
        ("organisation_registration_id", "organisation_name"),
    ),
    help="Each row names a project (grant number or acronym) and an organisation "
    "(registration id or name) already recorded in this association; a participant not "
    "recorded yet is created as an external partner when the row gives its country (and "
    "optionally its PIC).",
)

KINDS_BY_KEY = {k.key: k for k in (ORGANISATIONS, CONTACTS, PROJECTS, PARTICIPATIONS)}


def suggest_mapping(kind: Kind, headers: list[str]) -> dict[str, str]:
    """field key -> header, for the headers whose (folded) name is a known synonym.

    Each header goes to one field: the field for which it is the earliest
    synonym wins, and a required field never stays empty while a header that
    could fill it went to an optional one.
    """
    folded = {fold(h): h for h in headers}
    candidates = []  # (rank, field order, field key, header)
    for order, f in enumerate(kind.fields):
        words = (f.key, f.label, *f.synonyms)
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
        words = {fold(w) for w in (f.key, f.label, *f.synonyms)}
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
