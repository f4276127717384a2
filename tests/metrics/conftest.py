"""Seeded data for the metrics tests, and the expected figures computed in plain Python."""

from __future__ import annotations

import os
import random
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import create_engine, select, text

from crm.extensions import db
from crm.metrics.definitions import LAPSE_GRACE_DAYS
from crm.models import ClusterMembership, Ecosystem, Participation, Project
from crm.tenancy import tenant_scope
from tests.conftest import IsolatedClient, _truncate_all, close_app
from tests.factories import Factories

FUNDED = {"funded", "running", "closed"}
DECIDED = FUNDED | {"rejected"}
SME = {"micro", "small", "medium"}
STATUSES = ["proposal", "submitted", "funded", "rejected", "running", "closed"]
PROGRAMMES = ["HE", "ERDF", "INTERREG", "SMP"]
JOIN_DATES = [None, date(2021, 2, 1), date(2022, 5, 9), date(2023, 11, 30)]


def seed(session, rng_seed: int = 6) -> SimpleNamespace:
    """Three associations (two French, one Polish) with members, projects and shared grants."""
    rng = random.Random(rng_seed)
    make = Factories(session)
    ecosystems = session.scalars(select(Ecosystem).order_by(Ecosystem.id)).all()[:5]
    tenants = [
        make.tenant(slug="m-fr-a", country="FR"),
        make.tenant(slug="m-fr-b", country="FR"),
        make.tenant(slug="m-pl", country="PL"),
    ]
    orgs = {}
    for tenant in tenants:
        members = [make.cluster(tenant)]
        for _ in range(rng.randint(22, 30)):
            employees = rng.choice([None, 3, 8, 20, 45, 120, 240, 900])
            turnover = rng.choice([None, 1_000_000, 9_000_000, 40_000_000, 90_000_000])
            members.append(
                make.org(
                    tenant,
                    employees=employees,
                    turnover_eur=turnover,
                    country=rng.choice([tenant.country] * 5 + ["DE"]),
                    nuts2=rng.choice([None, f"{tenant.country}10", f"{tenant.country}21"]),
                    archived=rng.random() < 0.05,
                )
            )
        for kind in ("university", "university", "research_org", "public_body"):
            members.append(make.org(tenant, kind=kind))
        cluster = members[0]
        with tenant_scope(tenant.id):  # lazy loads autoflush: keep them in scope
            for org in members:
                # Some are in the network only through a cluster.
                if org is cluster or rng.random() > 0.2:
                    status = rng.choice(["active"] * 6 + ["lapsed", "left", "applicant"])
                    joined = rng.choice(JOIN_DATES)
                    left = None
                    if status in ("lapsed", "left"):
                        left = date(2024, rng.randint(1, 12), 1)
                    make.membership(org, status=status, joined_on=joined, left_on=left)
                if org is not cluster and rng.random() < 0.5:
                    until = rng.choice([None, None, date(2020, 1, 1), date(2099, 1, 1)])
                    link = ClusterMembership(
                        tenant_id=tenant.id, cluster_id=cluster.id, member_id=org.id, until=until
                    )
                    make._add(link, tenant.id)
                org.ecosystems.extend(rng.sample(ecosystems, rng.randint(0, 2)))
            session.flush()
        orgs[tenant.id] = members
    shared = [f"101{n:06d}" for n in range(6)]
    for tenant in tenants:
        for _ in range(rng.randint(12, 16)):
            status = rng.choice(STATUSES)
            grant = None
            if status in FUNDED and rng.random() < 0.7:
                key = rng.choice(shared)
                grant = rng.choice([key, f"GA no. {key[:3]}-{key[3:]}", f"GA {key}"])
            project = make.project(
                tenant,
                programme=rng.choice(PROGRAMMES),
                status=status,
                grant_number=grant,
                start_date=rng.choice([None, date(2022, 3, 1), date(2023, 9, 1), date(2024, 1, 1)]),
                total_budget=Decimal(rng.randint(1, 90)) * 10_000,
                eu_contribution=rng.choice([None, Decimal(rng.randint(1, 60)) * 10_000]),
            )
            project.ecosystems.extend(rng.sample(ecosystems, rng.randint(0, 2)))
            with tenant_scope(tenant.id):
                session.flush()
            coordinated = False
            for org in rng.sample(orgs[tenant.id], rng.randint(1, 5)):
                role = rng.choice(["coordinator", "partner"])
                if role == "coordinator" and coordinated:
                    # One coordinator per project (a unique index); the same draws
                    # as before, so the rest of the data does not move.
                    role = "partner"
                coordinated = coordinated or role == "coordinator"
                make.participation(project, org, role=role)
    add_external_partners(session, tenants, random.Random(rng_seed + 1))
    add_partner_requests(session, tenants, orgs, ecosystems, random.Random(rng_seed + 2))
    add_closed_cases(session, tenants)
    cordis_rows = add_cordis(session, tenants, random.Random(rng_seed + 3))
    return SimpleNamespace(tenants=tenants, cordis_rows=cordis_rows)


def add_cordis(session, tenants, rng) -> list[dict]:
    """Identifiers on some organisations and the CORDIS participations that name them
    (returned, for the owner to insert: the app role only reads CORDIS): most recorded
    grants, grants not recorded (one twice), SME flags, dismissals; and rows that must not
    count: external partners' PICs, archived members', and the VAT number of a member
    whose PIC CORDIS does not know (a member with a PIC is matched by it alone)."""
    from crm.models import CordisDismissal, Organisation

    make = Factories(session)
    rows: list[dict] = []

    def row(grant_key, pic=None, vat=None, sme=False, country="FR"):
        rows.append(
            {
                "grant_key": grant_key,
                "pic": pic or f"7{len(rows):08d}",
                "vat_number": vat,
                "name": "CORDIS PARTICIPANT",
                "country": country,
                "sme": sme,
            }
        )

    for tenant in tenants:
        with tenant_scope(tenant.id):
            orgs = session.scalars(
                select(Organisation).where(Organisation.tenant_id == tenant.id)
                .order_by(Organisation.id)
            ).all()  # fmt: skip
            recorded = defaultdict(set)
            for project_id, org_id in session.execute(
                select(Participation.project_id, Participation.organisation_id)
            ):
                key = session.get(Project, project_id).grant_key
                if key:
                    recorded[org_id].add(key)
            for i, org in enumerate(orgs):
                if org.is_external:  # their PICs are set already: CORDIS lists them
                    for key in sorted(recorded[org.id]) or ["190000001"]:
                        row(key, pic=org.pic, sme=True)
                    continue
                draw = rng.random()
                if draw < 0.45:
                    org.pic = f"8{tenant.id:03d}{i:05d}"
                    if rng.random() < 0.3:
                        org.vat_id = f"{tenant.country}P{tenant.id:03d}{i:05d}"
                        row("190000002", vat=org.vat_id)  # another PIC: no match
                elif draw < 0.7:
                    org.vat_id = f"{tenant.country}V{tenant.id:03d}{i:05d}"
                else:
                    continue
                session.flush()
                sme = rng.random() < 0.5
                ident = {"pic": org.pic} if org.pic else {"vat": org.vat_id}
                for key in sorted(recorded[org.id]):
                    if rng.random() < 0.8:
                        row(key, sme=sme, **ident)
                for _ in range(rng.randint(0, 3)):
                    row(f"1900{rng.randint(10, 25):05d}", sme=sme, **ident)
        # One unrecorded participation dismissed (it leaves the figure), and one recorded
        # participation dismissed by mistake (it stays: it is recorded).
        unrecorded = [
            (o.id, r["grant_key"])
            for o in orgs
            for r in rows
            if o.pic and r["pic"] == o.pic and r["grant_key"] not in recorded[o.id]
        ]
        taken = [(o.id, k) for o in orgs if o.pic for k in sorted(recorded[o.id])]
        for org_id, key in unrecorded[:1] + taken[:1]:
            make._add(
                CordisDismissal(
                    tenant_id=tenant.id, grant_key=key, organisation_id=org_id, reason="not ours"
                ),
                tenant.id,
            )
    return rows


def add_partner_requests(session, tenants, orgs, ecosystems, rng) -> None:
    """Requests of each association (open, closed, expired), and interests of the others
    in them, some accepted or declined in various quarters."""
    from datetime import UTC

    from crm.models import PartnerInterest
    from crm.models.partner_request import bars

    make = Factories(session)
    today = date.today()
    moments = [datetime(2024, m, 15, 12, tzinfo=UTC) for m in (2, 5, 8, 11)]
    for tenant in tenants:
        for n in range(rng.randint(3, 5)):
            codes = [e.code for e in rng.sample(ecosystems, rng.randint(0, 2))]
            request = make.partner_request(
                orgs[tenant.id][0],
                programme_code=rng.choice(PROGRAMMES),
                ecosystems=tuple(codes),
                deadline=today + timedelta(days=rng.choice([0, 10, 40])),
            )
            with tenant_scope(tenant.id):
                if n == 0:
                    request.closed_at = moments[0]
                elif n == 1:
                    request.deadline = today - timedelta(days=1)
                assert request.ecosystem_codes == bars(codes)
                session.flush()
            for other in tenants:
                if other is tenant or rng.random() < 0.3:
                    continue
                org = rng.choice(orgs[other.id][1:])
                status = rng.choice(["pending", "accepted", "accepted", "declined", "withdrawn"])
                created = rng.choice(moments)
                decided = (
                    created + timedelta(days=20) if status in ("accepted", "declined") else None
                )
                make._add(
                    PartnerInterest(
                        request_id=request.id, request_tenant_id=tenant.id, tenant_id=other.id,
                        organisation_id=org.id, organisation_name=org.name,
                        organisation_country=org.country, organisation_kind=org.kind,
                        status=status, created_at=created, decided_at=decided,
                    ),
                    other.id,
                )  # fmt: skip


def add_closed_cases(session, tenants) -> None:
    """What the definitions decide explicitly: an archived cluster (its members count
    through it no more), an archived organisation in a project (its participation
    counts), lapsed memberships recorded without a leaving date (paid until + grace)."""
    make = Factories(session)
    tenant = tenants[1]
    with tenant_scope(tenant.id):
        closed = make.cluster(tenant, archived=True)
        for _ in range(3):
            make.cluster_member(closed, make.org(tenant, employees=12, turnover_eur=1_000_000))
        for paid_until in (date(2024, 3, 31), date(2024, 12, 15), None):
            make.membership(make.org(tenant), status="lapsed", paid_until=paid_until)
        gone = make.org(tenant, archived=True, country="IT")
        project = make.project(tenant, programme="HE", status="funded")
        make.participation(project, gone)
        make.participation(project, make.org(tenant, kind="university"))
        session.flush()


def add_external_partners(session, tenants, rng) -> None:
    """External partners of other countries (one a firm whose figures make it an SME,
    which no member figure may count) in some of each association's projects."""
    make = Factories(session)
    for tenant in tenants:
        partners = [
            make.org(
                tenant,
                kind=kind,
                country=country,
                is_external=True,
                pic=f"9{tenant.id:04d}{i:04d}",
                employees=20 if kind == "firm" else None,
                turnover_eur=1_000_000 if kind == "firm" else None,
            )
            for i, (kind, country) in enumerate(
                [
                    ("university", "DE"),
                    ("firm", "NO"),
                    ("research_org", "IT"),
                    ("firm", tenant.country),
                ]
            )
        ]
        with tenant_scope(tenant.id):
            projects = session.scalars(
                select(Project).where(Project.tenant_id == tenant.id).order_by(Project.id)
            ).all()
            taken = set(
                session.execute(
                    select(Participation.project_id, Participation.organisation_id).where(
                        Participation.tenant_id == tenant.id
                    )
                ).all()
            )
        for project in projects:
            for partner in rng.sample(partners, rng.randint(0, 2)):
                if (project.id, partner.id) not in taken:
                    make.participation(project, partner)


# ------------------------------------------------------------- expected figures


def load_rows(owner_url: str) -> dict:
    engine = create_engine(owner_url)
    try:
        with engine.connect() as c:
            rows = {
                name: [r._asdict() for r in c.execute(text(f"SELECT * FROM {name}"))]
                for name in (
                    "tenants",
                    "organisations",
                    "association_memberships",
                    "cluster_memberships",
                    "organisation_ecosystems",
                    "projects",
                    "project_ecosystems",
                    "participations",
                    "ecosystems",
                    "partner_requests",
                    "partner_interests",
                    "cordis_participants",
                    "cordis_dismissals",
                )
            }
    finally:
        engine.dispose()
    for table in rows.values():  # SQLite hands dates back as text
        for row in table:
            for key in ("joined_on", "left_on", "paid_until", "start_date", "until", "deadline"):
                if isinstance(row.get(key), str):
                    row[key] = date.fromisoformat(row[key])
            for key in ("created_at", "decided_at", "closed_at"):
                if isinstance(row.get(key), str):
                    row[key] = datetime.fromisoformat(row[key])
    return rows


def quarter(d) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def year(d) -> str:
    return str(d.year) if d else "unknown"


def facts(rows: dict) -> dict[str, list[tuple]]:
    """Per metric, the counted things: (tenant_id, d1, d2, entity, amount, num, den)."""
    orgs = {o["id"]: o for o in rows["organisations"]}
    projects = {p["id"]: p for p in rows["projects"]}
    eco_code = {e["id"]: e["code"] for e in rows["ecosystems"]}
    org_ecos = defaultdict(set)
    for r in rows["organisation_ecosystems"]:
        org_ecos[r["organisation_id"]].add(r["ecosystem_id"])
    proj_ecos = defaultdict(set)
    for r in rows["project_ecosystems"]:
        proj_ecos[r["project_id"]].add(r["ecosystem_id"])
    parts_of = defaultdict(list)
    for pa in rows["participations"]:
        parts_of[pa["project_id"]].append(pa)
    in_network = {
        m["organisation_id"] for m in rows["association_memberships"] if m["status"] == "active"
    } | {
        c["member_id"]
        for c in rows["cluster_memberships"]
        if (c["until"] is None or c["until"] >= date.today())
        and not orgs[c["cluster_id"]]["archived"]
    }
    members = [o for o in rows["organisations"] if o["id"] in in_network and not o["archived"]]
    firms = [o for o in members if o["kind"] == "firm"]
    funded_orgs = {
        pa["organisation_id"]
        for pa in rows["participations"]
        if projects[pa["project_id"]]["status"] in FUNDED
    }
    out: dict[str, list[tuple]] = defaultdict(list)

    def add(metric, tid, d1="", d2="", ent=None, amount=0, num=0, den=0):
        out[metric].append((tid, d1, d2, ent, Decimal(amount or 0), num, den))

    for o in members:
        t = o["tenant_id"]
        add("members", t, ent=o["id"])
        add("members_by_kind", t, o["kind"], ent=o["id"])
        add("members_by_country", t, o["country"], ent=o["id"])
        add("members_by_region", t, o["nuts2"] or "unknown", ent=o["id"])
        for e in org_ecos[o["id"]]:
            add("members_by_ecosystem", t, eco_code[e], ent=o["id"])
    for o in firms:
        t = o["tenant_id"]
        add("members_by_size_class", t, o["size_class"] or "unknown", ent=o["id"])
        if o["size_class"]:
            add("sme_share", t, ent=o["id"], num=int(o["size_class"] in SME), den=1)
        if o["employees"] is not None:
            add("employees", t, ent=o["id"], amount=o["employees"])
        if o["size_class"] in SME:
            add("sme_participation_rate", t, ent=o["id"], num=int(o["id"] in funded_orgs), den=1)
    for m in rows["association_memberships"]:
        if m["joined_on"]:
            add("joins_by_quarter", m["tenant_id"], quarter(m["joined_on"]), ent=m["id"])
        left = m["left_on"] or (
            m["paid_until"] and m["paid_until"] + timedelta(days=LAPSE_GRACE_DAYS)
        )
        if m["status"] in ("lapsed", "left") and left:
            add("lapses_by_quarter", m["tenant_id"], quarter(left), ent=m["id"])
    grant_tenants, grant_countries = defaultdict(set), defaultdict(set)
    for p in rows["projects"]:
        if p["grant_key"]:
            g = (p["programme_code"], p["grant_key"])
            grant_tenants[g].add(p["tenant_id"])
            grant_countries[g] |= {
                orgs[pa["organisation_id"]]["country"] for pa in parts_of[p["id"]]
            }
    for p in rows["projects"]:
        t, status, prog = p["tenant_id"], p["status"], p["programme_code"]
        add("projects_by_programme_status", t, prog, status, ent=p["id"])
        add("projects_by_year", t, year(p["start_date"]), ent=p["id"])
        for pa in parts_of[p["id"]]:
            add("participations_by_programme_status", t, prog, status, ent=pa["id"])
            add("participations_by_year", t, year(p["start_date"]), ent=pa["id"])
            firm = orgs[pa["organisation_id"]]
            if status in DECIDED and firm["kind"] == "firm" and not firm["is_external"]:
                add(
                    "success_rate_by_size_class",
                    t,
                    firm["size_class"] or "unknown",
                    ent=pa["id"],
                    num=int(status in FUNDED),
                    den=1,
                )
        if len({orgs[pa["organisation_id"]]["country"] for pa in parts_of[p["id"]]}) >= 2:
            add("international_projects", t, prog, status, ent=p["id"])
        if status in FUNDED:
            add("projects_funded", t, ent=p["id"])
            add("budget_by_programme", t, prog, ent=p["id"], amount=p["total_budget"])
            add("eu_contribution_by_programme", t, prog, ent=p["id"], amount=p["eu_contribution"])
            add("eu_contribution", t, ent=p["id"], amount=p["eu_contribution"])
            for e in proj_ecos[p["id"]]:
                add(
                    "ecosystems_by_funding",
                    t,
                    eco_code[e],
                    ent=p["id"],
                    amount=p["eu_contribution"],
                )
            spanned = set().union(*(org_ecos[pa["organisation_id"]] for pa in parts_of[p["id"]]))
            if len(spanned) >= 2:
                add("cross_sector", t, ent=p["id"])
        if status in DECIDED:
            add("success_rate", t, ent=p["id"], num=int(status in FUNDED), den=1)
            add("success_rate_by_programme", t, prog, ent=p["id"], num=int(status in FUNDED), den=1)
        if p["grant_key"]:
            g = (p["programme_code"], p["grant_key"])
            if len(grant_tenants[g]) >= 2:
                add("cross_association", t, ent=g)
            if len(grant_countries[g]) >= 2:
                add("cross_border", t, ent=g)
        elif len({orgs[pa["organisation_id"]]["country"] for pa in parts_of[p["id"]]}) >= 2:
            add("cross_border", t, ent=("p", p["id"]))
    for metric, items in cordis_facts(rows, members).items():
        out[metric] += items
    country_of = {t["id"]: t["country"] for t in rows["tenants"]}
    for r in rows["partner_requests"]:
        if r["closed_at"] is None and r["deadline"] >= date.today():
            for code in [c for c in r["ecosystem_codes"].split("|") if c] or ["any"]:
                add("open_partner_requests", r["tenant_id"], r["programme_code"], code, ent=r["id"])
    for i in rows["partner_interests"]:
        add("partner_interests_by_quarter", i["tenant_id"], quarter(i["created_at"]), ent=i["id"])
        if i["status"] == "accepted":
            t = i["request_tenant_id"]
            add("accepted_matches_by_quarter", t, quarter(i["decided_at"]), ent=i["id"])
            add("cross_association_matches", t, country_of[i["tenant_id"]], ent=i["id"])
    return out


def cordis_facts(rows: dict, members: list[dict]) -> dict[str, list[tuple]]:
    """The CORDIS coverage metrics, member by member and grant by grant."""
    recorded = set()
    projects = {p["id"]: p for p in rows["projects"]}
    for pa in rows["participations"]:
        key = projects[pa["project_id"]]["grant_key"]
        if key:
            recorded.add((pa["organisation_id"], key))
    dismissed = {(d["organisation_id"], d["grant_key"]) for d in rows["cordis_dismissals"]}
    out = defaultdict(list)
    for o in members:
        if o["pic"]:
            found = [r for r in rows["cordis_participants"] if r["pic"] == o["pic"]]
        elif o["vat_id"]:
            found = [r for r in rows["cordis_participants"] if r["vat_number"] == o["vat_id"]]
        else:
            found = []
        grants = {
            r["grant_key"]
            for r in found
            if (o["id"], r["grant_key"]) in recorded or (o["id"], r["grant_key"]) not in dismissed
        }
        t = o["tenant_id"]
        for key in grants:
            num = int((o["id"], key) in recorded)
            out["cordis_recorded_share"].append((t, "", "", (o["id"], key), 0, num, 1))
        flagged = o["pic"] and any(r["sme"] and r["grant_key"] in grants for r in found)
        if (o["kind"] == "firm" and o["size_class"] in SME) or flagged:
            out["sme_participation_rate_cordis"].append(
                (t, "", "", o["id"], 0, int(bool(grants)), 1)
            )
    return out


RATIOS = {
    "cordis_recorded_share",
    "sme_participation_rate_cordis",
    "sme_share",
    "sme_participation_rate",
    "success_rate",
    "success_rate_by_programme",
    "success_rate_by_size_class",
}
SUMS = {
    "employees",
    "budget_by_programme",
    "eu_contribution_by_programme",
    "eu_contribution",
    "ecosystems_by_funding",
}


def expected(rows: dict) -> dict[tuple, tuple]:
    """{(scope, metric, d1, d2): (value, n, base)}; scope is ('tenant', id), ('country', c)
    or ('total',)."""
    country_of = {t["id"]: t["country"] for t in rows["tenants"]}
    groups: dict[tuple, list] = defaultdict(list)
    for metric, items in facts(rows).items():
        for tid, d1, d2, ent, amount, num, den in items:
            for scope in (("tenant", tid), ("country", country_of[tid]), ("total",)):
                groups[(scope, metric, d1, d2)].append((ent, amount, num, den))
    out = {}
    for key, items in groups.items():
        metric = key[1]
        n = len({i[0] for i in items})  # things counted once, however often recorded
        amount = sum((i[1] for i in items), Decimal(0))
        num, den = sum(i[2] for i in items), sum(i[3] for i in items)
        if metric in RATIOS:
            if den:
                out[key] = (Decimal(num) / Decimal(den), num, den)
        elif metric in SUMS:
            out[key] = (amount, n, None)
        else:
            out[key] = (Decimal(n), n, None)
    return out


def stored(owner_url: str, alliance_snapshot_id: int) -> dict[tuple, tuple]:
    """The values of an alliance snapshot and of the tenant snapshots of the same run."""
    engine = create_engine(owner_url)
    try:
        with engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT v.tenant_id, v.level, v.country, v.metric, v.d1, v.d2, v.value, v.n, "
                    "v.base FROM metric_values v JOIN metric_snapshots s ON s.id = v.snapshot_id "
                    "WHERE v.level <> 'rounding' AND s.complete AND (s.id = :id OR (s.job_run_id = "
                    "(SELECT job_run_id FROM metric_snapshots WHERE id = :id) "
                    "AND s.tenant_id IS NOT NULL))"
                ),
                {"id": alliance_snapshot_id},
            ).all()
    finally:
        engine.dispose()
    out = {}
    for r in rows:
        if r.tenant_id is not None:
            scope = ("tenant", r.tenant_id)
        elif r.level == "country":
            scope = ("country", r.country)
        else:
            scope = ("total",)
        out[(scope, r.metric, r.d1, r.d2)] = (Decimal(r.value), r.n, r.base)
    return out


def assert_same(actual: dict, wanted: dict) -> None:
    assert set(actual) == set(wanted), (
        f"missing {sorted(set(wanted) - set(actual), key=str)[:5]}, "
        f"extra {sorted(set(actual) - set(wanted), key=str)[:5]}"
    )
    for key, (value, n, base) in wanted.items():
        got = actual[key]
        assert abs(got[0] - value) < Decimal("0.0001"), (key, got, (value, n, base))
        assert (got[1], got[2]) == (n, base), (key, got, (value, n, base))


# ------------------------------------------------------------- fixtures


@pytest.fixture
def metrics_app(make_app, database_urls):
    """``metrics_app(**config)``: an app whose data commits (the worker and the metrics
    role must see it); tables, engines and Redis are cleaned up afterwards."""
    built = []

    def build(**config):
        app = make_app(**config)
        app.test_client_class = IsolatedClient
        built.append(app)
        return app

    try:
        yield build
    finally:
        for app in built:
            close_app(app)
        _truncate_all(database_urls["owner"])


@pytest.fixture
def seeded(database_urls):
    """Commit the seed as the owner; returns the seed."""

    def do(app):
        with app.app_context():
            result = seed(db.session)
            ids = [t.id for t in result.tenants]
            db.session.commit()
            db.session.remove()
        insert_cordis(database_urls["owner"], result.cordis_rows)
        return SimpleNamespace(tenant_ids=ids)

    return do


def insert_cordis(owner_url: str, participants: list[dict]) -> None:
    """CORDIS rows, as the owner (the loader's role): the app role only reads them."""
    from crm.models.cordis import cordis_participants

    engine = create_engine(owner_url)
    try:
        with engine.begin() as connection:
            if participants:
                connection.execute(cordis_participants.insert(), participants)
    finally:
        engine.dispose()


@pytest.fixture
def redis_queue(redis_url):
    """The app's rq queue on the test Redis, emptied before and after."""
    from redis import Redis

    from crm.jobs import QUEUE_NAME

    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield Queue(QUEUE_NAME, connection=connection)
    connection.flushdb()
    connection.close()


def work(app, queue: Queue) -> None:
    """Run a real rq worker (in this process) until the queue is empty."""
    with app.app_context():
        db.session.remove()  # an open read transaction would hold up the job
        SimpleWorker([queue], connection=queue.connection).work(burst=True)


ROOT = Path(__file__).resolve().parents[2]


def worker_process(database_urls: dict, redis_url: str) -> tuple[list[str], dict]:
    """The documented worker, ``rq worker crm --burst -w crm.worker.Worker`` (a forking
    worker, app preloaded), on the test databases: its command and environment."""
    env = dict(
        os.environ,
        CRM_ENV="testing",
        DATABASE_URL=database_urls["app"],
        METRICS_DATABASE_URL=database_urls["metrics"],
        MIGRATION_DATABASE_URL=database_urls["owner"],
        REDIS_URL=redis_url,
    )
    rq = Path(sys.executable).with_name("rq")
    command = [str(rq), "worker", "crm", "--burst", "-w", "crm.worker.Worker"]
    return command + ["--url", redis_url, "-P", str(ROOT)], env
