"""Each filter across related records, in the directory and the contacts list,
against the same answer computed in Python from the rows the test made."""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import select

from crm.models import Ecosystem
from crm.models.organisation import SME_CLASSES
from crm.segments import queries
from crm.tenancy import tenant_scope

ROLES = ("management", "research", "business", None)
PROGRAMMES = ("HE", "ERDF", "INTERREG")
# (employees, turnover): micro, small, medium, large, unknown
FIGURES = ((5, 1_000_000), (30, 5_000_000), (100, 20_000_000), (500, 100_000_000), (None, None))


@pytest.fixture
def world(assoc, make, session):
    """A deterministic association: organisations in clusters, with contacts of
    roles, projects of programmes, tags and ecosystems; and a second association
    with the same shapes that must never show."""
    rng = random.Random(15)
    ecosystems = session.scalars(select(Ecosystem).order_by(Ecosystem.id)).all()[:3]
    w = {"orgs": {}, "contacts": {}}
    for tenant in (assoc.tenant, make.tenant()):
        clusters = [make.cluster(tenant, name=f"Cluster {n}") for n in range(3)]
        tags = [make.tag(tenant, name=f"T{n}") for n in range(2)]
        projects = [make.project(tenant, programme=p) for p in PROGRAMMES]
        for n in range(40):
            kind = rng.choice(("firm", "firm", "university"))
            employees, turnover = rng.choice(FIGURES)
            org = make.org(
                tenant, kind=kind, name=f"Org {n:02d}", employees=employees, turnover_eur=turnover
            )
            facts = {
                "kind": kind,
                "size": org.size_class,
                "clusters": {c.id for c in clusters if rng.random() < 0.3},
                "programmes": set(),
                "tags": {t.id for t in tags if rng.random() < 0.3},
                "ecosystems": {e.id for e in ecosystems if rng.random() < 0.4},
                "roles": set(),
            }
            org.ecosystems.extend(e for e in ecosystems if e.id in facts["ecosystems"])
            with tenant_scope(tenant.id):  # its UPDATE, while its row is visible (RLS)
                session.flush()
            for cluster_id in facts["clusters"]:
                make.cluster_member(next(c for c in clusters if c.id == cluster_id), org)
            for project in projects:
                if rng.random() < 0.25:
                    make.participation(project, org)
                    facts["programmes"].add(project.programme_code)
            for tag in tags:
                if tag.id in facts["tags"]:
                    make.tagged(tag, org)
            for _ in range(rng.randint(0, 2)):
                role = rng.choice(ROLES)
                erased = rng.random() < 0.1
                person = make.contact(org, role=role, erased_at=org.created_at if erased else None)
                if not erased:
                    facts["roles"].add(role)
                    if tenant is assoc.tenant:
                        w["contacts"][person.id] = (org.id, role)
            if tenant is assoc.tenant:
                w["orgs"][org.id] = facts
        if tenant is assoc.tenant:
            # Ids, not rows: a request expires the rows, and outside the tenant's
            # scope they cannot be loaded again (RLS).
            w.update(
                clusters=[c.id for c in clusters],
                tags=[t.id for t in tags],
                ecosystems=[e.id for e in ecosystems],
            )
    session.flush()
    return w


def _ids(session, tenant_id, query) -> set[int]:
    with tenant_scope(tenant_id):
        return set(session.scalars(query))


def test_directory_filters_across_related_records(assoc, session, world):
    tid, orgs = assoc.tenant.id, world["orgs"]
    checks = []
    for cluster_id in world["clusters"]:
        expected = {i for i, f in orgs.items() if cluster_id in f["clusters"]}
        checks.append(({"cluster": str(cluster_id)}, expected))
    for role in ROLES[:-1]:
        expected = {i for i, f in orgs.items() if role in f["roles"]}
        checks.append(({"contact_role": role}, expected))
    for code in PROGRAMMES:
        expected = {i for i, f in orgs.items() if code in f["programmes"]}
        checks.append(({"programme": code}, expected))
        firms = {i for i in expected if orgs[i]["kind"] == "firm"}
        checks.append(({"programme": code, "kind": "firm"}, firms))
    for tag_id in world["tags"]:
        expected = {i for i, f in orgs.items() if tag_id in f["tags"]}
        checks.append(({"tag": str(tag_id)}, expected))
        both = {i for i in expected if "research" in orgs[i]["roles"]}
        checks.append(({"tag": str(tag_id), "contact_role": "research"}, both))
    for args, expected in checks:
        assert _ids(session, tid, queries.organisation_ids(tid, args)) == expected, args
        assert any(expected), "the data should exercise every filter"
    # The same through the directory page.
    code = "HE"
    page = assoc.client.get(f"{assoc.url}/members?programme={code}&per_page=200")
    shown = set(re.findall(r'name="ids" value="(\d+)"', page.get_data(as_text=True)))
    assert {int(i) for i in shown} == {i for i, f in orgs.items() if code in f["programmes"]}


def test_contacts_of_smes_in_an_ecosystem(assoc, session, world):
    tid, orgs = assoc.tenant.id, world["orgs"]
    found = 0
    for ecosystem_id in world["ecosystems"]:
        expected = {
            cid
            for cid, (oid, _role) in world["contacts"].items()
            if ecosystem_id in orgs[oid]["ecosystems"] and orgs[oid]["size"] in SME_CLASSES
        }
        args = {"ecosystem": str(ecosystem_id), "size": "sme"}
        got = _ids(session, tid, queries.contact_ids(tid, args, source="contacts"))
        assert got == expected
        found += len(expected)
        page = assoc.client.get(
            f"{assoc.url}/contacts?ecosystem={ecosystem_id}&size=sme&per_page=200"
        )
        shown = re.findall(r'name="ids" value="(\d+)"', page.get_data(as_text=True))
        assert {int(i) for i in shown} == expected
    assert found, "the data should hold contacts of SMEs in an ecosystem"
    for role in ROLES[:-1]:
        expected = {cid for cid, (_oid, r) in world["contacts"].items() if r == role}
        got = _ids(session, tid, queries.contact_ids(tid, {"role": role}, source="contacts"))
        assert got == expected
    tag_id = world["tags"][0]
    expected = {cid for cid, (oid, _r) in world["contacts"].items() if tag_id in orgs[oid]["tags"]}
    # Contacts of tagged organisations (directory filters -> contact ids).
    assert _ids(session, tid, queries.contact_ids(tid, {"tag": str(tag_id)})) == expected


def test_related_filters_are_lenient(assoc, world):
    for args in ("tag=x", "tag=-1", "contact_role=king", "programme=%27;drop", "tag=99999999999"):
        response = assoc.client.get(f"{assoc.url}/members?{args}")
        assert response.status_code == 200, args
        contacts = assoc.client.get(f"{assoc.url}/contacts?{args.replace('contact_', '')}")
        assert contacts.status_code == 200, args
