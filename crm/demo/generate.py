"""Deterministic generation of the demo rows (plain tuples in ``COLUMNS`` order,
which is derived from the schema).

Everything random comes from ``random.Random`` seeded with strings derived
from the seed, and every date from the ``today`` passed in, so the same seed
and day give the same data. Row ids come from an allocator (``crm.demo.load.Ids``)
so rows can reference each other before anything is inserted.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from types import SimpleNamespace

from crm.demo import data, numbers
from crm.models import Base
from crm.models.organisation import (
    DEFAULT_NACE_REVISION,
    DEFAULT_NUTS_REVISION,
    KINDS,
    derive_size_class,
)
from crm.models.project import FUNDED_STATUSES, Project
from crm.projects.partners import name_key
from crm.renewals.services import add_months

# Alliance size at --scale 1 (kinds of organisation, and projects led per association).
BASE_COUNTS = {
    "cluster": 760,
    "firm": 135_000,
    "university": 1_500,
    "research_org": 2_200,
    "public_body": 2_600,
    "investor": 700,
    "other": 900,
}
MIN_COUNTS = {
    "cluster": 2,
    "firm": 12,
    "university": 1,
    "research_org": 1,
    "public_body": 1,
    "investor": 1,
    "other": 1,
}
BASE_LED_PROJECTS = 16_000
BASE_PARTNERS = 4_000  # external partners across the alliance at scale 1
MIN_PARTNERS = 12
MIN_LED_PROJECTS = 6
# Share of the members of each kind that record their PIC (clusters, universities and
# research organisations take part in EU grants far more often than firms).
PIC_SHARE = {
    "cluster": 0.7, "university": 0.85, "research_org": 0.8, "public_body": 0.3,
    "firm": 0.12, "investor": 0.1, "other": 0.1,
}  # fmt: skip
# Programmes whose grants CORDIS publishes (crm.cordis.queries.CORDIS_PROGRAMMES).
CORDIS_PROGRAMMES = ("HE", "H2020", "EIC")

# Insert order per tenant (parents first: the composite foreign keys are checked).
TENANT_TABLE_ORDER = [
    "organisations",
    "organisation_ecosystems",
    "association_memberships",
    "membership_status_changes",
    "payments",
    "cluster_memberships",
    "contacts",
    "projects",
    "project_ecosystems",
    "project_flagships",
    "project_status_changes",
    "participations",
]

# Tables whose ids the database assigns (the generator does not refer to them).
DATABASE_IDS = {"audit_events"}


def _columns(table: str) -> tuple[str, ...]:
    """The order of a generated row: the table's columns (``Base.metadata``),
    with ``tenant_id`` right after the id on tenant-owned tables (the mixin
    declares it last), and no id where the database assigns it."""
    # Not ``version``: the database's default starts every row at version 1; nor a
    # generated column (the database computes it).
    columns = Base.metadata.tables[table].columns
    names = [c.name for c in columns if c.name != "version" and c.computed is None]
    if table in DATABASE_IDS:
        names.remove("id")
    if table in TENANT_TABLE_ORDER and names[0] == "id":
        names.remove("tenant_id")
        names.insert(1, "tenant_id")
    return tuple(names)


COLUMNS = {
    table: _columns(table) for table in ("tenants", *TENANT_TABLE_ORDER, "audit_events", "users")
}

AUDIT_DAYS = 90  # changes this recent also appear in the audit log
DEMO_PASSWORD = "demo-password-2026"
DEMO_DOMAIN = "example.org"
ECOSYSTEM_CODES = list(data.ECOSYSTEM_IDS)
_CENT = Decimal("0.01")
# The demo's yearly fee per fee tier, in euros.
FEES = {
    "standard": Decimal("1200.00"),
    "reduced": Decimal("600.00"),
    "supporting": Decimal("2500.00"),
    "exempt": Decimal("0.00"),
}


@dataclass
class Pools:
    """What project generation needs to know about one association's organisations."""

    country: str
    by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    cluster_members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    cluster_ecosystem: dict[int, str] = field(default_factory=dict)
    partners: list[int] = field(default_factory=list)  # external partners
    pics: set[str] = field(default_factory=set)  # PICs held (unique in the association)
    with_pic: list[int] = field(default_factory=list)  # members with a PIC


class Batch:
    """Rows of one association (or of the alliance), per table."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple]] = defaultdict(list)

    def add(self, table: str, *values) -> None:
        self.rows[table].append(values)


def scaled(base: int, scale: float, share: float, minimum: int) -> int:
    return max(minimum, round(base * scale * share))


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(8 + rng.randrange(10), rng.randrange(60)), tzinfo=UTC)


def _money(value: float) -> Decimal:
    return Decimal(value).quantize(_CENT, rounding=ROUND_DOWN)


def _anniversary_after(start: date, after: date) -> date:
    """The first anniversary of ``start`` after ``after`` (28 February stands in for 29)."""
    day = min(start.day, 28) if start.month == 2 else start.day
    candidate = date(after.year, start.month, day)
    return candidate if candidate > after else date(after.year + 1, start.month, day)


def grant_fields(raw: str | None) -> tuple[str | None, str | None]:
    """Grant number and its matching key, exactly as ``Project.set_grant_number`` sets them."""
    holder = SimpleNamespace()
    Project.set_grant_number(holder, raw)
    return holder.grant_number, holder.grant_key


class Generator:
    def __init__(self, seed: int, scale: float, today: date, ids) -> None:
        self.seed = seed
        self.scale = scale
        self.today = today
        self.ids = ids
        total = sum(a[3] for a in data.ASSOCIATIONS)
        self.shares = {a[0]: a[3] / total for a in data.ASSOCIATIONS}
        self.tenant_ids: dict[str, int] = {}
        self.pools: dict[str, Pools] = {}
        self.pools_of: dict[int, Pools] = {}  # the same, by tenant id
        self.first_cluster: dict[str, int] = {}
        # Recent changes, replayed as audit events once the users exist:
        # tenant id -> (entity type, id, action, changes, when, acting role).
        self.recent: dict[int, list[tuple]] = defaultdict(list)
        self.user_ids: dict[tuple[int, str], int] = {}
        self.recent_since = today - timedelta(days=AUDIT_DAYS)
        # For the demo's CORDIS export (crm.demo.cordis): what CORDIS would say about each
        # organisation that may take part in an EU grant, and each grant recorded in a
        # programme CORDIS publishes with its participations across associations.
        self.identity: dict[int, tuple] = {}
        self.cordis_grants: dict[str, dict] = {}
        self.used_grants: set[tuple[str, str]] = set()

    def rng(self, *purpose) -> random.Random:
        return random.Random(":".join(str(p) for p in (self.seed, *purpose)))

    # -- tenants -------------------------------------------------------------

    def tenants(self) -> Batch:
        batch = Batch()
        created = datetime.combine(self.today - timedelta(days=400), time(9), tzinfo=UTC)
        for slug, name, country, _ in data.ASSOCIATIONS:
            tid = self.ids.next("tenants")
            self.tenant_ids[slug] = tid
            # mail_from: MAIL_FROM; language and time zone: the country's (crm.i18n)
            batch.add("tenants", tid, slug, name, country, None, None, None, created)
        return batch

    # -- organisations and memberships of one association --------------------

    def organisations(self, slug: str) -> Batch:
        rng = self.rng("organisations", slug)
        country = dict((a[0], a[2]) for a in data.ASSOCIATIONS)[slug]
        tid = self.tenant_ids[slug]
        share = self.shares[slug]
        pools = self.pools[slug] = self.pools_of[tid] = Pools(country)
        batch = Batch()
        lang = data.COUNTRIES[country]
        regions = list(data.REGIONS[country].items())
        weights = [4 if (country == "FI" and i == 0) else 1 for i in range(len(regions))]
        used_names: set[str] = set()
        # Its own stream: giving PICs leaves every other draw as seeded.
        self.pic_rng = self.rng("pics", slug)

        def place(near: str | None = None):
            if near and rng.random() < 0.7:
                code = near
            else:
                code = rng.choices(regions, weights)[0][0]
            region_name, cities = data.REGIONS[country][code]
            return code, region_name, rng.choice(cities)

        def stem() -> str:
            word = "".join(rng.choice(lang["syll"]) for _ in range(rng.choice((2, 2, 3))))
            return (word + rng.choice(("", "", "tek", "ix", "ia", "on", "a", "is"))).capitalize()

        def name_for(kind, eco, region_name, city) -> str:
            for attempt in range(6):
                template = rng.choice(lang[kind])
                name = template.format(
                    city=city,
                    region=region_name,
                    sector=lang["sector"][eco],
                    stem=stem(),
                    surname=rng.choice(lang["last"]),
                )
                if kind == "firm" or name not in used_names:
                    break
                if attempt == 5:
                    name = f"{name} {stem()}"
            used_names.add(name)
            return name

        counts = {
            kind: scaled(BASE_COUNTS[kind], self.scale, share, MIN_COUNTS[kind])
            for kind in BASE_COUNTS
        }
        clusters: list[tuple[int, str, str]] = []  # id, nuts2, primary ecosystem
        for kind in ("cluster", "university", "research_org", "public_body", "investor", "other"):
            for _ in range(counts[kind]):
                oid = self.ids.next("organisations")
                if kind == "cluster":
                    ecos = rng.sample(ECOSYSTEM_CODES, rng.choice((1, 2, 2, 3)))
                else:
                    ecos = rng.sample(ECOSYSTEM_CODES, rng.choice((1, 2, 3, 4)))
                code, region_name, city = place()
                name = name_for(kind, ecos[0], region_name, city)
                employees = {
                    "cluster": rng.randint(2, 25),
                    "university": rng.randint(400, 9000),
                    "research_org": rng.randint(20, 1500),
                    "investor": rng.randint(3, 60),
                    "other": rng.randint(5, 120),
                }.get(kind)
                founded = rng.randint(1950 if kind != "cluster" else 1995, self.today.year - 3)
                self._org_row(
                    batch, rng, tid, oid, kind, name, country, code, city, ecos, employees,
                    None, None, None, False, founded, lang,
                )  # fmt: skip
                pools.by_kind[kind].append(oid)
                if kind == "cluster":
                    clusters.append((oid, code, ecos[0]))
                    pools.cluster_ecosystem[oid] = ecos[0]
                self._association_membership(batch, rng, tid, oid, kind, None)
                if kind != "cluster":
                    for cluster in rng.sample(
                        clusters, min(len(clusters), rng.choice((1, 1, 2, 3)))
                    ):
                        self._cluster_membership(batch, rng, tid, pools, cluster[0], oid)
        self.first_cluster[slug] = clusters[0][0]

        for _ in range(counts["firm"]):
            oid = self.ids.next("organisations")
            home = rng.choice(clusters)
            ecos = [home[2]]
            if rng.random() < 0.35:
                other = rng.choice(ECOSYSTEM_CODES)
                if other != home[2]:
                    ecos.append(other)
            code, region_name, city = place(home[1])
            name = name_for("firm", ecos[0], region_name, city)
            size = rng.choices(
                ("micro", "small", "medium", "large", "unknown"), (55, 27, 11, 2, 5)
            )[0]
            employees, turnover, balance = self._figures(rng, size)
            startup = size in ("micro", "small") and rng.random() < 0.14
            founded = (
                rng.randint(self.today.year - 4, self.today.year)
                if startup
                else rng.randint(1960, self.today.year - 5)
            )
            self._org_row(
                batch, rng, tid, oid, "firm", name, country, code, city, ecos, employees,
                turnover, balance, derive_size_class(employees, turnover, balance), startup,
                founded, lang,
            )  # fmt: skip
            pools.by_kind["firm"].append(oid)
            self._cluster_membership(batch, rng, tid, pools, home[0], oid)
            if rng.random() < 0.15 and len(clusters) > 1:
                second = rng.choice(clusters)
                if second[0] != home[0]:
                    self._cluster_membership(batch, rng, tid, pools, second[0], oid)
            if rng.random() < 0.12 or size == "large":
                self._association_membership(batch, rng, tid, oid, "firm", size)
        self._external_partners(batch, slug)
        return batch

    def _external_partners(self, batch: Batch, slug: str) -> None:
        """Organisations of other countries recorded for the association's consortia:
        no membership, no cluster; most with a PIC (unique in the association)."""
        rng = self.rng("partners", slug)
        pools = self.pools[slug]
        tid = self.tenant_ids[slug]
        countries = [c for c in data.PARTNER_COUNTRIES if c != pools.country]
        n = scaled(BASE_PARTNERS, self.scale, self.shares[slug], MIN_PARTNERS)
        pics: set[str] = set()
        keys: set[tuple[str, str]] = set()
        while len(pools.partners) < n:
            country = rng.choice(countries)
            cities, legal = data.PARTNER_COUNTRIES[country]
            city = rng.choice(cities)
            kind = rng.choices(("university", "research_org", "firm", "cluster"), (3, 3, 5, 1))[0]
            stem = "".join(rng.choice(data.PARTNER_SYLLABLES) for _ in range(3)).capitalize()
            name = rng.choice(data.PARTNER_NAMES[kind]).format(city=city, stem=stem, legal=legal)
            if (country, name_key(name)) in keys:
                continue  # one record per partner: the picker would reuse it
            keys.add((country, name_key(name)))
            pic = None
            if rng.random() < 0.85:
                # Below 8xx xxx xxx: members' PICs and the demo CORDIS's are above.
                pic = str(rng.randrange(10**8, 8 * 10**8))
                if pic in pics:
                    pic = None
                pics.add(pic)
            oid = self.ids.next("organisations")
            created = _at(self.today - timedelta(days=rng.randint(30, 1500)), rng)
            site = ascii_slug(name)[:40].strip("-") or f"partner-{oid}"
            batch.add(
                "organisations",
                oid, tid, kind, name, None, None, None, country, None, city,
                f"https://www.{site}.example", None, None, None, None, None, False, None, None,
                False, False, True, pic, None, None, name_key(name), None, None, None,
                DEFAULT_NUTS_REVISION, DEFAULT_NACE_REVISION, created, created,
            )  # fmt: skip
            pools.partners.append(oid)
            self.identity[oid] = (name, kind, country, None, city, None, pic, None, name)

    def _figures(self, rng: random.Random, size: str):
        """Headcount, turnover and balance sheet consistent with the EU SME classes."""
        if size == "unknown":
            return (rng.randint(1, 300) if rng.random() < 0.5 else None), None, None
        low, high, t_low, t_high, b_low, b_high = {
            "micro": (1, 9, 40_000, 2_000_000, 20_000, 2_000_000),
            "small": (10, 49, 500_000, 10_000_000, 300_000, 10_000_000),
            "medium": (50, 249, 5_000_000, 50_000_000, 3_000_000, 43_000_000),
            "large": (250, 6_000, 50_000_001, 2_500_000_000, 43_000_001, 2_000_000_000),
        }[size]
        employees = rng.randint(low, high)
        turnover = round(rng.uniform(t_low, t_high), -3)
        balance = round(rng.uniform(b_low, b_high), -3)
        if size != "large" and rng.random() < 0.2:
            turnover = None if rng.random() < 0.5 else turnover  # a figure not reported
        return employees, (int(turnover) if turnover is not None else None), int(balance)

    def _org_row(
        self, batch, rng, tid, oid, kind, name, country, nuts2, city, ecos, employees,
        turnover, balance, size_class, startup, founded, lang,
    ) -> None:  # fmt: skip
        base = ascii_slug(name)[:40].strip("-") or f"org-{oid}"
        legal = f"{name} {rng.choice(lang['legal'])}" if kind == "firm" else name
        created = _at(self.today - timedelta(days=rng.randint(30, 1500)), rng)
        eco_names = " and ".join(e.replace("_", " ") for e in ecos[:2])
        description = (
            f"{KINDS[kind]} in {city} active in {eco_names}."
            if kind != "firm" or rng.random() < 0.3
            else None
        )
        nace = rng.choice(data.NACE_BY_ECOSYSTEM[ecos[0]]) if kind == "firm" else None
        rng.randrange(10**8, 10**9)  # kept: the draws after it stay the same
        reg = numbers.registration_number(country, oid)
        vat = numbers.vat_number(country, reg, oid) if kind == "firm" else None
        pic = None
        if self.pic_rng.random() < PIC_SHARE[kind]:
            pic = f"9{oid:08d}"  # 9 digits, unique: the organisation's id
            self.pools_of[tid].pics.add(pic)
            self.pools_of[tid].with_pic.append(oid)

        if created.date() >= self.recent_since:
            self.recent[tid].append(
                (
                    "organisations",
                    oid,
                    "create",
                    {"name": name, "kind": kind},
                    created,
                    "secretariat",
                )
            )
        discoverable, archived = rng.random() < 0.6, rng.random() < 0.01
        if not archived and (kind != "firm" or pic or vat):  # who may be found in CORDIS
            sme = size_class in ("micro", "small", "medium")
            self.identity[oid] = (legal, kind, country, nuts2, city, vat, pic, sme, name)
        batch.add(
            "organisations",
            oid, tid, kind, name, legal, reg,
            vat, country, nuts2, city, f"https://www.{base}.{data.TLD[country]}", nace,
            employees, turnover, balance, size_class, startup, founded, description,
            discoverable, archived, False, pic, None, None, None, None, None, None,
            DEFAULT_NUTS_REVISION, DEFAULT_NACE_REVISION, created, created,
        )  # fmt: skip
        for eco in ecos:
            batch.add("organisation_ecosystems", tid, oid, data.ECOSYSTEM_IDS[eco])
        n_contacts = {"cluster": 3, "university": 2, "research_org": 2}.get(kind)
        if n_contacts is None:
            n_contacts = rng.choices((0, 1, 2), (10, 75, 15))[0] if kind == "firm" else 1
        for i in range(n_contacts):
            first, last = rng.choice(lang["first"]), rng.choice(lang["last"])
            consent = rng.random() < 0.8
            consent_day = self.today - timedelta(days=rng.randint(1, 1400))
            # Drawn in the order of the columns, as before roles existed (same data per seed).
            phone = (
                f"{data.PHONE_PREFIX[country]} {rng.randint(100, 999)} {rng.randint(1, 999):03d}"
            )
            title = rng.choice(data.JOB_TITLES[kind])
            batch.add(
                "contacts",
                self.ids.next("contacts"), tid, oid, first, last,
                f"{ascii_slug(first)}.{ascii_slug(last)}@{base}.{data.TLD[country]}",
                phone, title, data.JOB_TITLE_ROLES[title], i == 0, consent,
                consent_day if consent else None,
                rng.choice(("form", "event", "email", "contract", "import")) if consent else None,
                None, created, created,
            )  # fmt: skip

    def _association_membership(self, batch, rng, tid, oid, kind, size) -> None:
        if kind not in ("cluster", "firm"):
            if rng.random() > {"university": 0.6, "research_org": 0.6}.get(kind, 0.3):
                return
        today = self.today
        status = rng.choices(
            ("active", "applicant", "suspended", "lapsed", "left"), (72, 5, 3, 10, 10)
        )[0]
        mid = self.ids.next("association_memberships")
        tier = {
            "cluster": rng.choice(("standard", "standard", "reduced")),
            "firm": "reduced" if size in ("micro", "small") and rng.random() < 0.5 else "standard",
            "university": "supporting",
            "research_org": "supporting",
            "public_body": "exempt",
            "investor": "supporting",
        }.get(kind, "standard")
        changes: list[tuple[str | None, str, date, str | None]] = []
        if status == "applicant":
            applied = today - timedelta(days=rng.randint(3, 60))
            changes.append((None, "applicant", applied, "Application received"))
            joined, left_on, paid_until = None, None, None
        else:
            joined = today - timedelta(days=rng.randint(120, 3650))
            applied = joined - timedelta(days=rng.randint(14, 90))
            changes.append((None, "applicant", applied, "Application received"))
            changes.append(("applicant", "active", joined, "Admitted by the board"))
            span = (today - joined).days
            left_on = None
            if status == "active":
                if span > 400 and rng.random() < 0.15:
                    off = joined + timedelta(days=rng.randint(100, span - 200))
                    back = off + timedelta(days=rng.randint(20, 90))
                    changes.append(("active", "suspended", off, "Fee unpaid"))
                    changes.append(("suspended", "active", back, "Fee paid"))
                # Fees run a year from the joining anniversary; some are overdue.
                paid_until = _anniversary_after(joined, today)
                if rng.random() < 0.07:
                    paid_until = today - timedelta(days=rng.randint(1, 45))
                elif rng.random() < 0.1:
                    paid_until = _anniversary_after(joined, paid_until)  # paid ahead
            else:
                when = joined + timedelta(days=rng.randint(60, span - 10))
                reason = {
                    "suspended": "Fee unpaid",
                    "lapsed": "Membership not renewed",
                    "left": rng.choice(
                        ("Resigned", "Company closed", "Merged into another member")
                    ),
                }[status]
                changes.append(("active", status, when, reason))
                paid_until = when - timedelta(days=rng.randint(0, 120))
                paid_until = max(paid_until, joined)
                # As the app records them: lapsed and left set the leaving date.
                left_on = when if status in ("lapsed", "left") else None
        created = _at(changes[0][2], rng)
        fee = FEES[tier]
        batch.add(
            "association_memberships",
            mid, tid, oid, status, joined, left_on, tier, paid_until, fee, "EUR", 12,
            created, created,
        )  # fmt: skip
        if status == "active" and fee:
            self._last_payment(batch, tid, mid, joined, paid_until, fee)
        for from_status, to_status, day, reason in changes:
            if day >= self.recent_since:
                self._remember(tid, "association_memberships", mid, from_status, to_status, day)
            batch.add(
                "membership_status_changes",
                self.ids.next("membership_status_changes"), tid, mid, from_status, to_status,
                day, reason, None, _at(day, rng),
            )  # fmt: skip

    def _last_payment(self, batch, tid, mid, joined, paid_until, fee) -> None:
        """The payment of the year that ends on ``paid_until``, when the member had
        joined by then. Its own random numbers (seeded by the membership), so the
        rest of the demo is the same with or without payments."""
        start = add_months(paid_until, -12) + timedelta(days=1)
        if start <= joined:
            return
        rng = random.Random(mid)
        paid_on = min(start - timedelta(days=rng.randint(0, 40)), self.today)
        batch.add(
            "payments",
            self.ids.next("payments"), tid, mid, fee, "EUR", paid_on,
            rng.choice(("transfer", "transfer", "transfer", "card", "direct_debit")),
            f"INV-{paid_on.year}-{mid}", start, paid_until, None, _at(paid_on, rng),
        )  # fmt: skip

    def _cluster_membership(self, batch, rng, tid, pools, cluster_id, member_id) -> None:
        since = self.today - timedelta(days=rng.randint(30, 3000))
        until = None
        if rng.random() < 0.06:
            until = since + timedelta(days=rng.randint(1, (self.today - since).days))
        else:
            pools.cluster_members[cluster_id].append(member_id)
        batch.add(
            "cluster_memberships",
            self.ids.next("cluster_memberships"), tid, cluster_id, member_id, since, until,
        )  # fmt: skip

    # -- projects, across associations ----------------------------------------

    def projects(self) -> dict[str, Batch]:
        """Projects recorded per association; consortia spanning several associations
        are recorded by each of them under the same programme and grant number."""
        rng = self.rng("projects")
        # Its own stream, so adding partners leaves the rest of the consortia as seeded.
        self.partner_rng = self.rng("consortium-partners")
        batches = {slug: Batch() for slug in self.tenant_ids}
        slugs = list(self.tenant_ids)
        weights = [self.shares[s] for s in slugs]
        programmes = list(data.PROGRAMMES)
        prog_weights = [data.PROGRAMMES[p][0] for p in programmes]
        used_grants = self.used_grants
        for slug in slugs:
            led = scaled(BASE_LED_PROJECTS, self.scale, self.shares[slug], MIN_LED_PROJECTS)
            for n in range(led):
                # Each association's first projects cover every status and a shared grant.
                programme = rng.choices(programmes, prog_weights)[0]
                if n < 2:
                    programme = ("HE", "INTERREG")[n]
                _, eu_funded, shareable, rate = data.PROGRAMMES[programme]
                members = [slug]
                if shareable and (n < 2 or rng.random() < 0.45):
                    while len(members) < rng.choice((2, 2, 3, 4)):
                        other = rng.choices(slugs, weights)[0]
                        if other not in members:
                            members.append(other)
                status = rng.choices(
                    ("proposal", "submitted", "rejected", "funded", "running", "closed"),
                    (6, 6, 25, 8, 29, 26),
                )[0]
                if n < 6:
                    status = ("running", "closed", "proposal", "submitted", "rejected", "funded")[n]
                self._consortium(
                    rng, batches, members, programme, status, eu_funded, rate, used_grants
                )
        return batches

    def _consortium(self, rng, batches, members, programme, status, eu_funded, rate, used):
        today = self.today
        lo, hi = {
            "HE": (1.5e6, 12e6),
            "H2020": (1e6, 8e6),
            "EIC": (0.5e6, 2.5e6),
            "EUROSTARS": (0.4e6, 2e6),
            "SMP": (0.5e6, 3.5e6),
            "COSME": (0.5e6, 3e6),
            "DIGITAL": (1e6, 10e6),
            "ERDF": (0.2e6, 5e6),
            "INTERREG": (0.8e6, 2.5e6),
            "I3": (2e6, 15e6),
            "LIFE": (1e6, 6e6),
            "ESF": (0.1e6, 1.5e6),
            "ERASMUS": (0.3e6, 1.5e6),
            "RRF": (0.5e6, 20e6),
            "NATIONAL": (0.1e6, 3e6),
            "REGIONAL": (0.05e6, 1e6),
            "OTHER": (0.05e6, 0.5e6),
        }[programme]
        total = _money(round(rng.uniform(lo, hi), -3))
        eu = None
        if eu_funded and status in FUNDED_STATUSES:
            eu = _money(float(total) * rng.uniform(*rate))
        months = rng.choice((18, 24, 30, 36, 42, 48))
        if status == "proposal":
            start = today + timedelta(days=rng.randint(150, 400))
        elif status in ("submitted", "funded"):
            start = today + timedelta(days=rng.randint(20, 250))
        elif status == "rejected":
            start = today - timedelta(days=rng.randint(-100, 1500))
        elif status == "running":
            start = today - timedelta(days=rng.randint(30, months * 30 - 30))
        else:
            start = today - timedelta(days=rng.randint(months * 31 + 30, months * 31 + 1500))
        end = start + timedelta(days=months * 30)
        drafted = min(start - timedelta(days=rng.randint(240, 420)), today - timedelta(days=30))
        submitted = min(drafted + timedelta(days=rng.randint(30, 90)), today - timedelta(days=5))
        decided = min(submitted + timedelta(days=rng.randint(90, 180)), today - timedelta(days=1))
        path = {
            "proposal": [("proposal", drafted)],
            "submitted": [("proposal", drafted), ("submitted", submitted)],
            "rejected": [("proposal", drafted), ("submitted", submitted), ("rejected", decided)],
            "funded": [("proposal", drafted), ("submitted", submitted), ("funded", decided)],
            "running": [
                ("proposal", drafted),
                ("submitted", submitted),
                ("funded", min(decided, start)),
                ("running", start),
            ],
            "closed": [
                ("proposal", drafted),
                ("submitted", submitted),
                ("funded", min(decided, start)),
                ("running", start),
                ("closed", end),
            ],
        }[status]
        year = submitted.year
        grant = None
        if status in FUNDED_STATUSES and programme != "OTHER":
            grant = self._grant_number(rng, programme, used)
        call_template = data.CALLS[programme]
        call_args = {
            "n": rng.randint(1, 6),
            "year": year,
            "topic": rng.choice(("DIGITAL", "TWIN", "RESILIENCE", "HUMAN")),
        }
        ecos = rng.sample(ECOSYSTEM_CODES, rng.choice((1, 1, 2, 3)))
        flagships = rng.sample(data.FLAGSHIP_IDS, rng.choice((0, 0, 1, 2)))
        if programme == "RRF" and not flagships:
            flagships = [rng.choice(data.FLAGSHIP_IDS)]
        acronym = rng.choice(data.ACRONYM_PARTS) + rng.choice(data.ACRONYM_PARTS)
        acronym = (acronym + rng.choice(data.ACRONYM_ENDS))[:40]
        topic = data.TITLE_TOPICS[ecos[0]]
        title = f"{rng.choice(data.TITLE_ADJECTIVES)} {topic} for {rng.choice(data.TITLE_GOALS)}"

        # Participants of every association first, so shares are split over the consortium.
        local: list[tuple[str, int, list[tuple[int, str]]]] = []
        for i, slug in enumerate(members):
            pools = self.pools[slug]
            cluster = (
                self.first_cluster[slug]
                if rng.random() < 0.2
                else rng.choice(pools.by_kind["cluster"])
            )
            wanted = rng.randint(5, 24) if i == 0 else rng.randint(3, 13)
            if programme == "EIC":
                wanted = rng.randint(1, 3)
            chosen: list[int] = []
            seen: set[int] = set()
            for _ in range(wanted * 2):
                if len(chosen) >= wanted:
                    break
                kind = rng.choices(
                    ("member", "firm", "university", "research_org", "public_body", "cluster"),
                    (40, 25, 12, 12, 5, 6),
                )[0]
                if kind == "member":
                    pool = pools.cluster_members.get(cluster) or pools.by_kind["firm"]
                elif kind == "cluster":
                    pool = [cluster]
                else:
                    pool = pools.by_kind[kind]
                oid = rng.choice(pool)
                if oid not in seen:
                    seen.add(oid)
                    chosen.append(oid)
            if i == 0 and programme in data.PARTNER_PROGRAMMES and pools.partners:
                # Partners from other countries, drawn apart so the rest stays as seeded.
                prng = self.partner_rng
                if prng.random() < 0.7:
                    wanted_partners = prng.randint(1, 2 if programme == "EIC" else 8)
                    for oid in prng.sample(
                        pools.partners, min(wanted_partners, len(pools.partners))
                    ):
                        chosen.append(oid)
            roles = []
            for j, oid in enumerate(chosen):
                if i == 0 and j == 0:
                    role = "coordinator"
                else:
                    role = rng.choices(
                        ("partner", "associated_partner", "third_party", "subcontractor"),
                        (80, 8, 7, 5),
                    )[0]
                roles.append((oid, role))
            local.append((slug, cluster, roles))
        weight_of = {"coordinator": 3.0, "partner": None, "third_party": 0.3}
        weighted = []
        for _slug, _cluster, roles in local:
            for _oid, role in roles:
                w = weight_of.get(role, 0.0)
                if w is None:
                    w = rng.uniform(0.6, 1.8)
                weighted.append(w)
        total_weight = sum(weighted) or 1.0
        shares_iter = iter(weighted)
        variants = ["{g}", "GA {g}", "GA No. {g}", "{dashed}", "{spaced}", "GAP-{g}"]
        cordis = None
        if grant and programme in CORDIS_PROGRAMMES and grant not in self.cordis_grants:
            cordis = self.cordis_grants[grant] = {
                "programme": programme, "acronym": acronym, "title": title, "status": status,
                "start": start, "end": end, "total": total, "eu": eu, "lead": members[0],
                "call": call_template.format(country="EU", **call_args) if call_template else "",
                "participants": {},
            }  # fmt: skip
        for k, (slug, cluster, roles) in enumerate(local):
            tid = self.tenant_ids[slug]
            batch = batches[slug]
            pid = self.ids.next("projects")
            raw = None
            if grant:
                dashed = "-".join(grant[i : i + 3] for i in range(0, len(grant), 3))
                spaced = " ".join(grant[i : i + 3] for i in range(0, len(grant), 3))
                raw = variants[(k + len(grant)) % len(variants)].format(
                    g=grant, dashed=dashed, spaced=spaced
                )
            grant_number, grant_key = grant_fields(raw)
            call = (
                call_template.format(country=self.pools[slug].country, **call_args)
                if call_template
                else None
            )
            created = _at(path[0][1], rng)
            batch.add(
                "projects",
                pid, tid, programme, call, grant_number, grant_key, acronym, title,
                status, start, end, total, eu, None, cluster, created, created,
            )  # fmt: skip
            for eco in ecos:
                batch.add("project_ecosystems", tid, pid, data.ECOSYSTEM_IDS[eco])
            for flagship in flagships:
                batch.add("project_flagships", tid, pid, flagship)
            previous = None
            for to_status, day in path:
                if day >= self.recent_since:
                    self._remember(tid, "projects", pid, previous, to_status, day, cluster)
                batch.add(
                    "project_status_changes",
                    self.ids.next("project_status_changes"), tid, pid, previous, to_status, day,
                    None, _at(day, rng),
                )  # fmt: skip
                previous = to_status
            for oid, role in roles:
                w = next(shares_iter)
                share = _money(float(total) * w / total_weight) if w else None
                if cordis is not None:
                    cordis["participants"].setdefault(oid, (role, share))
                batch.add(
                    "participations",
                    self.ids.next("participations"), tid, pid, oid, role, share, None, created,
                )  # fmt: skip

    def _remember(self, tid, entity, entity_id, before, after, day, cluster=None) -> None:
        role = "secretariat"
        if entity == "projects":
            managed = cluster in self.first_cluster.values()
            role = "cluster_manager" if managed else "tenant_admin"
        action = "create" if before is None else "update"
        changes = {"status": after} if before is None else {"status": [before, after]}
        when = datetime.combine(day, time(11), tzinfo=UTC)
        self.recent[tid].append((entity, entity_id, action, changes, when, role))

    def audit_events(self) -> dict[str, Batch]:
        """Audit events for the recent changes, as the association's users made them.

        Older history stays in the status-change tables only: a bulk load writes
        no audit row per inserted row.
        """
        batches = {}
        for slug, tid in self.tenant_ids.items():
            batch = batches[slug] = Batch()
            for entity, entity_id, action, changes, when, role in sorted(
                self.recent[tid], key=lambda event: (event[4], event[0], event[1])
            ):
                user_id = self.user_ids[(tid, role)]
                batch.add(
                    "audit_events", tid, user_id, action, entity, entity_id, None, changes,
                    None, when,
                )  # fmt: skip
        return batches

    def _grant_number(self, rng, programme: str, used: set[str]) -> str:
        while True:
            if programme in ("HE", "DIGITAL", "SMP", "EIC", "LIFE", "ERASMUS", "I3"):
                grant = str(rng.randint(101_000_000, 101_199_999))
            elif programme in ("H2020", "COSME"):
                grant = str(rng.randint(640_000, 1_010_000))
            elif programme == "EUROSTARS":
                grant = f"E{rng.randint(110_000, 119_999)}"
            elif programme == "INTERREG":
                grant = f"PGI{rng.randint(10_000, 99_999)}"
            else:
                grant = str(rng.randint(10_000_000, 99_999_999))
            if (programme, grant) not in used:
                used.add((programme, grant))
                return grant

    # -- users --------------------------------------------------------------

    def users(self, password_hash: str) -> tuple[Batch, list[tuple[str, str, str | None]]]:
        """One user per role: the alliance office, then three per association."""
        rng = self.rng("users")
        batch = Batch()
        logins: list[tuple[str, str, str | None]] = []
        created = datetime.combine(self.today - timedelta(days=300), time(9), tzinfo=UTC)

        def add(email, name, role, tid, cluster_id, slug):
            user_id = self.ids.next("users")
            self.user_ids[(tid, role)] = user_id
            batch.add(
                "users",
                user_id, email, password_hash, name, role, tid, cluster_id,
                True, None, 1, None, None, created, created,
            )  # fmt: skip
            logins.append((email, role, slug))

        alliance = f"alliance.{DEMO_DOMAIN}"
        add(f"admin@{alliance}", "Alliance Administrator", "alliance_admin", None, None, None)
        add(f"analyst@{alliance}", "Alliance Analyst", "alliance_analyst", None, None, None)
        for slug, _, country, _ in data.ASSOCIATIONS:
            lang = data.COUNTRIES[country]
            tid = self.tenant_ids[slug]
            for local, role in (
                ("admin", "tenant_admin"),
                ("secretariat", "secretariat"),
                ("manager", "cluster_manager"),
            ):
                name = f"{rng.choice(lang['first'])} {rng.choice(lang['last'])}"
                cluster = self.first_cluster[slug] if role == "cluster_manager" else None
                add(f"{local}@{slug}.{DEMO_DOMAIN}", name, role, tid, cluster, slug)
        return batch, logins
