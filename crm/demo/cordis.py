"""The demo's CORDIS export: the grants the demo records in Horizon Europe, Horizon 2020
and the EIC, as CORDIS would publish them, written in CORDIS's bulk format and loaded
with the real loader (``crm.cordis.loader``), so the reconciliation page of every
association has something in each of its lists.

What differs from the demo's records, on purpose (its own random stream):
* about one recorded grant in ten is not in the export (and at least one per
  association that records any): "recorded grants CORDIS does not know";
* members with a PIC take part in grants nobody recorded, with some of the
  association's external partners: "found in CORDIS, not recorded here";
* participants are named as CORDIS names them (legal name, upper case): members
  without a PIC are listed under a PIC the association does not hold, with their VAT
  number for a few firms (matched by VAT), the name otherwise ("possible matches by
  name"); subcontractors are not beneficiaries and are left out.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from crm.cordis.loader import load_export

PROJECT_HEADER = [
    "id", "acronym", "status", "title", "startDate", "endDate", "totalCost",
    "ecMaxContribution", "legalBasis", "topics", "frameworkProgramme", "masterCall",
    "subCall", "fundingScheme", "ecSignatureDate",
]  # fmt: skip
ORGANISATION_HEADER = [
    "projectID", "projectAcronym", "organisationID", "vatNumber", "name", "shortName",
    "SME", "activityType", "city", "country", "nutsCode", "role", "ecContribution",
    "netEcContribution", "totalCost", "endOfParticipation", "active",
]  # fmt: skip
ROLES = {
    "coordinator": "coordinator",
    "partner": "participant",
    "associated_partner": "associatedPartner",
    "third_party": "thirdParty",
}
ACTIVITY = {"firm": "PRC", "university": "HES", "research_org": "REC", "public_body": "PUB"}
UNKNOWN_SHARE = 0.1  # recorded grants left out of the export
UNRECORDED_SHARE = 0.08  # members with a PIC given a grant nobody recorded
VAT_MATCH_SHARE = 0.3  # firms without a PIC that CORDIS lists with their VAT number


def _amount(value: Decimal | None) -> str:
    # CORDIS writes a decimal comma as often as a point; the loader reads both.
    return "" if value is None else str(value).replace(".", ",")


def _status(end: date, today: date) -> str:
    return "CLOSED" if end < today else "SIGNED"


class Export:
    def __init__(self, generator) -> None:
        self.g = generator
        self.rng = random.Random(f"{generator.seed}:cordis")
        self.projects: list[list[str]] = []
        self.participants: list[list[str]] = []

    def _project(self, grant: str, p: dict) -> None:
        framework = "H2020" if p["programme"] == "H2020" else "HORIZON"
        signed = p["start"] - timedelta(days=60)
        self.projects.append(
            [
                grant, p["acronym"], _status(p["end"], self.g.today), p["title"],
                p["start"].isoformat(), p["end"].isoformat(), _amount(p["total"]),
                _amount(p["eu"]), f"{framework}.2.4", p["call"], framework, p["call"],
                p["call"], f"{framework}-RIA", signed.isoformat(),
            ]
        )  # fmt: skip

    def _participant(
        self, grant: str, p: dict, oid: int, role: str, share, by_name: bool = False
    ) -> None:
        legal, kind, country, nuts2, city, vat, pic, sme, name = self.g.identity[oid]
        if not by_name:
            # CORDIS names the legal entity; crm.projects.partners.name_key does not drop
            # every country's legal form (UAB, SIA, OOD...): the name match uses the name.
            name = legal
        if pic is None:
            # Not recorded here: CORDIS knows it under a PIC of its own.
            pic = f"8{oid:08d}"
            if by_name or vat is None or self.rng.random() >= VAT_MATCH_SHARE:
                vat = None
        ec = None
        if share is not None and p["eu"] is not None and p["total"]:
            ec = (share * p["eu"] / p["total"]).quantize(Decimal("0.01"))
        self.participants.append(
            [
                grant, p["acronym"], pic, vat or "", name.upper(), "",
                "true" if sme else "false", ACTIVITY.get(kind, "OTH"), city,
                "EL" if country == "GR" else country, nuts2 or "", ROLES[role],
                _amount(ec), _amount(ec), _amount(share), "false", "true",
            ]
        )  # fmt: skip

    def recorded(self) -> None:
        """The recorded grants, less about one in ten (one per association at least)."""
        g = self.g
        left_out: dict[str, list[str]] = {slug: [] for slug in g.tenant_ids}
        kept: dict[str, list[str]] = {slug: [] for slug in g.tenant_ids}
        for grant, p in g.cordis_grants.items():
            (left_out if self.rng.random() < UNKNOWN_SHARE else kept)[p["lead"]].append(grant)
        for slug, grants in kept.items():
            if not left_out[slug] and grants:
                left_out[slug].append(grants.pop())
        for grants in kept.values():
            for grant in grants:
                p = g.cordis_grants[grant]
                self._project(grant, p)
                for oid, (role, share) in p["participants"].items():
                    if role in ROLES and oid in g.identity:
                        self._participant(grant, p, oid, role, share)

    def unrecorded(self) -> None:
        """Grants nobody recorded: a member with a PIC and some external partners."""
        g = self.g
        for slug, tid in g.tenant_ids.items():
            pools = g.pools_of[tid]
            with_pic = [oid for oid in pools.with_pic if oid in g.identity]  # not archived
            chosen = [oid for oid in with_pic if self.rng.random() < UNRECORDED_SHARE]
            chosen = chosen or with_pic[:2]
            partners = [oid for oid in pools.partners if g.identity[oid][6]]
            # One member without a PIC in the first such grant, under CORDIS's PIC only:
            # a possible match by name in every association, however small the demo.
            held = set(pools.with_pic)
            unnamed = [
                oid
                for kind in ("cluster", "university", "research_org", "public_body", "other")
                + ("investor", "firm")
                for oid in pools.by_kind[kind]
                if oid not in held and oid in g.identity  # not archived
            ]
            for n, oid in enumerate(chosen):
                grant = g._grant_number(self.rng, "HE", g.used_grants)
                while grant in g.cordis_grants:  # an EIC grant of the same number
                    grant = g._grant_number(self.rng, "HE", g.used_grants)
                start = g.today - timedelta(days=self.rng.randint(-120, 1400))
                total = Decimal(self.rng.randint(15, 90) * 100_000)
                p = {
                    "programme": "HE", "acronym": f"EU{grant[-5:]}", "lead": slug,
                    "title": f"Joint research and innovation action {grant[-5:]}",
                    "start": start, "end": start + timedelta(days=36 * 30), "total": total,
                    "eu": (total * Decimal("0.7")).quantize(Decimal("0.01")),
                    "call": f"HORIZON-CL{self.rng.randint(1, 6)}-{start.year}-01",
                }  # fmt: skip
                self._project(grant, p)
                consortium = [oid, *self.rng.sample(partners, min(len(partners), 3))]
                named = self.rng.choice(unnamed) if n == 0 and unnamed else None
                share = (total / len(consortium)).quantize(Decimal("0.01"))
                for i, member in enumerate(consortium):
                    role = "coordinator" if i == 0 and self.rng.random() < 0.3 else "partner"
                    self._participant(grant, p, member, role, share)
                if named is not None:
                    self._participant(grant, p, named, "partner", share, by_name=True)

    def write(self, directory: Path) -> list[Path]:
        paths = []
        for name, header, rows in (
            ("project.csv", PROJECT_HEADER, self.projects),
            ("organization.csv", ORGANISATION_HEADER, self.participants),
        ):
            path = directory / name
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL)
                writer.writerow(header)
                writer.writerows(rows)
            paths.append(path)
        return paths


def load_demo_cordis(owner_engine, generator, directory: Path) -> dict[str, int]:
    """Write the demo's export into ``directory`` and load it (as the owner)."""
    export = Export(generator)
    export.recorded()
    export.unrecorded()
    report = load_export(owner_engine, export.write(directory))
    if report.rejected:  # the export is ours: a rejected row is a bug here
        raise ValueError(f"the demo's CORDIS export has bad rows: {report.listed[:3]}")
    return {"cordis_projects": report.projects, "cordis_participants": report.participants}
