"""``flask crm seed-demo``: loads, is deterministic, keeps the domain rules, logins work."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from crm.demo import data
from crm.demo.generate import BASE_COUNTS, BASE_PARTNERS, COLUMNS, DEMO_PASSWORD, Generator
from crm.extensions import db
from crm.models.organisation import derive_size_class
from crm.models.project import normalise_grant_number
from tests.conftest import _truncate_all

SCALE = "0.003"
TODAY = "2026-11-25"
SLUGS = [a[0] for a in data.ASSOCIATIONS]


def seed(app, *args):
    return app.test_cli_runner().invoke(
        args=["crm", "seed-demo", "--scale", SCALE, "--today", TODAY, *args]
    )


@contextmanager
def owner(database_urls):
    """Reads across every association (the owner role; RLS does not hide rows from it)."""
    engine = create_engine(database_urls["owner"])
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def rows(connection, sql: str) -> list[tuple]:
    return [tuple(r) for r in connection.execute(text(sql))]


def digest(connection) -> str:
    queries = [
        "SELECT t.slug, o.kind, o.name, o.legal_name, o.nuts2, o.city, o.employees,"
        " o.turnover_eur, o.balance_sheet_eur, o.size_class, o.is_startup, o.founded_year"
        " FROM organisations o JOIN tenants t ON t.id = o.tenant_id",
        "SELECT t.slug, o.name, e.ecosystem_id FROM organisation_ecosystems e"
        " JOIN organisations o ON o.id = e.organisation_id JOIN tenants t ON t.id = o.tenant_id",
        "SELECT t.slug, o.name, m.status, m.joined_on, m.left_on, m.fee_tier, m.paid_until"
        " FROM association_memberships m JOIN organisations o ON o.id = m.organisation_id"
        " JOIN tenants t ON t.id = m.tenant_id",
        "SELECT c.first_name, c.last_name, c.email, c.consent_given, c.consent_date"
        " FROM contacts c",
        "SELECT t.slug, p.programme_code, p.grant_number, p.acronym, p.title, p.status,"
        " p.start_date, p.end_date, p.total_budget, p.eu_contribution"
        " FROM projects p JOIN tenants t ON t.id = p.tenant_id",
        "SELECT p.acronym, o.name, pa.role, pa.budget_share FROM participations pa"
        " JOIN projects p ON p.id = pa.project_id"
        " JOIN organisations o ON o.id = pa.organisation_id",
        "SELECT email, role, name FROM users",
    ]
    h = hashlib.sha256()
    for sql in queries:
        for row in sorted(rows(connection, sql), key=repr):
            h.update(repr(row).encode())
    return h.hexdigest()


def test_seed_demo_loads_the_alliance_and_prints_logins(committed_app, database_urls):
    result = seed(committed_app)
    assert result.exit_code == 0, result.output
    for needle in ("rows per table", "participations", "done in", DEMO_PASSWORD):
        assert needle in result.output
    for email in (
        "admin@alliance.example.org",
        "analyst@alliance.example.org",
        "admin@afpc.example.org",
        "secretariat@afpc.example.org",
        "manager@afpc.example.org",
    ):
        assert email in result.output
    with owner(database_urls) as c:
        assert sorted(rows(c, "SELECT slug, country FROM tenants")) == sorted(
            (a[0], a[2]) for a in data.ASSOCIATIONS
        )
        kinds = rows(c, "SELECT tenant_id, kind FROM organisations GROUP BY tenant_id, kind")
        assert len(kinds) == 13 * 7  # every association has every kind
        for table in (
            "projects",
            "participations",
            "contacts",
            "association_memberships",
            "cluster_memberships",
            "project_status_changes",
            "membership_status_changes",
            "organisation_ecosystems",
        ):
            per_tenant = rows(c, f"SELECT DISTINCT tenant_id FROM {table}")
            assert len(per_tenant) == 13, table
        statuses = {r[0] for r in rows(c, "SELECT DISTINCT status FROM projects")}
        assert statuses == {"proposal", "submitted", "funded", "rejected", "running", "closed"}
        statuses = {r[0] for r in rows(c, "SELECT DISTINCT status FROM association_memberships")}
        assert statuses == {"applicant", "active", "suspended", "lapsed", "left"}
        sizes = {r[0] for r in rows(c, "SELECT DISTINCT size_class FROM organisations")}
        assert {"micro", "small", "medium", "large"} <= sizes
        roles = rows(c, "SELECT role, tenant_id IS NULL, cluster_id IS NULL FROM users")
        assert Counter(r[0] for r in roles) == {
            "alliance_admin": 1,
            "alliance_analyst": 1,
            "tenant_admin": 13,
            "secretariat": 13,
            "cluster_manager": 13,
        }
        assert all(is_alliance == r.startswith("alliance") for r, is_alliance, _ in roles)
        assert all(not no_cluster for r, _, no_cluster in roles if r == "cluster_manager")
        # Cluster managers have a cluster with projects to show.
        managed = rows(
            c,
            "SELECT u.email, count(p.id) FROM users u JOIN projects p"
            " ON p.tenant_id = u.tenant_id AND p.cluster_id = u.cluster_id"
            " WHERE u.role = 'cluster_manager' GROUP BY u.email",
        )
        assert len(managed) == 13
        # Recent changes are in each association's audit log, by its own users.
        events = rows(
            c,
            "SELECT e.tenant_id, u.tenant_id, e.action, e.entity_type FROM audit_events e"
            " JOIN users u ON u.id = e.user_id",
        )
        assert {e[0] for e in events} == {r[0] for r in rows(c, "SELECT id FROM tenants")}
        assert all(event_tenant == user_tenant for event_tenant, user_tenant, *_ in events)
        assert {e[3] for e in events} >= {"projects", "association_memberships"}


def test_if_empty_skips_and_a_second_seed_is_refused(committed_app, database_urls):
    assert seed(committed_app).exit_code == 0
    with owner(database_urls) as c:
        before = rows(c, "SELECT count(*) FROM organisations")
    skipped = seed(committed_app, "--if-empty")
    assert skipped.exit_code == 0, skipped.output
    assert "not loaded" in skipped.output
    refused = seed(committed_app)
    assert refused.exit_code != 0
    assert "already has associations" in refused.output
    with owner(database_urls) as c:
        assert rows(c, "SELECT count(*) FROM organisations") == before
        assert rows(c, "SELECT count(*) FROM tenants") == [(13,)]


def test_the_same_seed_gives_the_same_data(committed_app, database_urls):
    digests = []
    for seed_value in ("11", "11", "12"):
        result = seed(committed_app, "--seed", seed_value)
        assert result.exit_code == 0, result.output
        with owner(database_urls) as c:
            digests.append(digest(c))
        with committed_app.app_context():
            db.session.remove()
        _truncate_all(database_urls["owner"])
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]


def test_demo_data_keeps_the_domain_rules(committed_app, database_urls):
    assert seed(committed_app).exit_code == 0
    with owner(database_urls) as c:
        # Participations: shares within the budget, one coordinator per record,
        # an organisation once per project, of the project's association.
        over = rows(
            c,
            "SELECT p.id FROM projects p JOIN participations pa ON pa.project_id = p.id"
            " GROUP BY p.id, p.total_budget HAVING sum(pa.budget_share) > p.total_budget",
        )
        assert over == []
        coordinators = rows(
            c,
            "SELECT project_id FROM participations WHERE role = 'coordinator'"
            " GROUP BY tenant_id, project_id HAVING count(*) > 1",
        )
        assert coordinators == []
        twice = rows(
            c,
            "SELECT project_id FROM participations GROUP BY project_id, organisation_id"
            " HAVING count(*) > 1",
        )
        assert twice == []
        foreign = rows(
            c,
            "SELECT pa.id FROM participations pa JOIN organisations o"
            " ON o.id = pa.organisation_id WHERE o.tenant_id <> pa.tenant_id",
        )
        assert foreign == []
        assert rows(c, "SELECT count(*) FROM participations WHERE budget_share < 0") == [(0,)]
        unfunded_eu = rows(
            c,
            "SELECT id FROM projects WHERE eu_contribution IS NOT NULL"
            " AND status IN ('proposal', 'submitted', 'rejected')",
        )
        assert unfunded_eu == []
        eu_over = rows(c, "SELECT id FROM projects WHERE eu_contribution > total_budget")
        assert eu_over == []
        assert rows(c, "SELECT count(*) FROM projects WHERE end_date < start_date") == [(0,)]

        # Status histories end in the current status and move forward in time.
        history = defaultdict(list)
        for pid, frm, to, day in rows(
            c,
            "SELECT project_id, from_status, to_status, changed_on FROM project_status_changes"
            " ORDER BY project_id, changed_on, id",
        ):
            history[pid].append((frm, to, day))
        current = dict(rows(c, "SELECT id, status FROM projects"))
        assert set(history) == set(current)
        for pid, changes in history.items():
            assert changes[0][0] is None and changes[-1][1] == current[pid]
            assert all(a[1] == b[0] and a[2] <= b[2] for a, b in itertools.pairwise(changes))
        memberships = dict(rows(c, "SELECT id, status FROM association_memberships"))
        last = {}
        for mid, to in rows(
            c,
            "SELECT membership_id, to_status FROM membership_status_changes"
            " ORDER BY membership_id, effective_on, id",
        ):
            last[mid] = to
        assert last == memberships
        left = rows(
            c, "SELECT status, left_on IS NOT NULL FROM association_memberships GROUP BY 1, 2"
        )
        # Lapsed and left have a leaving date (lapses per quarter counts them), no other.
        assert all((status in ("lapsed", "left")) == has_left for status, has_left in left)
        assert {status for status, has_left in left if has_left} == {"lapsed", "left"}
        due = rows(
            c,
            "SELECT count(*) FROM association_memberships WHERE status = 'active'"
            f" AND paid_until BETWEEN '{TODAY}' AND '2027-01-24'",
        )
        assert due[0][0] > 0  # renewals due within 60 days

        # Size classes follow the EU SME definition from the figures.
        firms = rows(
            c,
            "SELECT employees, turnover_eur, balance_sheet_eur, size_class, kind"
            " FROM organisations",
        )
        for employees, turnover, balance, size_class, kind in firms:
            expected = derive_size_class(employees, turnover, balance) if kind == "firm" else None
            assert size_class == expected, (employees, turnover, balance, size_class)
        firm_sizes = Counter(r[3] for r in firms if r[4] == "firm")
        assert firm_sizes["micro"] + firm_sizes["small"] + firm_sizes["medium"] > 0.8 * sum(
            firm_sizes.values()
        )

        # NUTS-2 regions belong to the organisation's country and are real codes.
        for country, nuts2 in rows(
            c, "SELECT DISTINCT country, nuts2 FROM organisations WHERE NOT is_external"
        ):
            assert nuts2[:2] == country and nuts2 in data.REGIONS[country]

        # External partners: other countries, never members, in many consortia.
        partners = rows(
            c,
            "SELECT o.country, t.country, o.pic, o.nuts2, o.name_key FROM organisations o"
            " JOIN tenants t ON t.id = o.tenant_id WHERE o.is_external",
        )
        assert len(partners) >= 12 * len(data.ASSOCIATIONS)
        assert all(
            own != theirs and nuts2 is None and key for own, theirs, _p, nuts2, key in partners
        )
        assert {p[0] for p in partners} >= {"DE", "NO", "NL", "IT", "BE", "AT", "SE", "IE", "DK"}
        assert all(pic is None or (len(pic) == 9 and pic.isdigit()) for _o, _t, pic, *_ in partners)
        as_members = rows(
            c,
            "SELECT o.id FROM organisations o WHERE o.is_external AND (EXISTS (SELECT 1 FROM"
            " association_memberships m WHERE m.organisation_id = o.id) OR EXISTS (SELECT 1"
            " FROM cluster_memberships cm WHERE o.id IN (cm.member_id, cm.cluster_id)))",
        )
        assert as_members == []
        international = rows(
            c,
            "SELECT count(DISTINCT pa.project_id) FROM participations pa JOIN organisations o"
            " ON o.tenant_id = pa.tenant_id AND o.id = pa.organisation_id WHERE o.is_external",
        )
        assert international[0][0] > 0.2 * len(current)

        # Consent: a date and a source exactly when consent was given.
        consent = rows(
            c,
            "SELECT consent_given, consent_date IS NOT NULL, consent_source IS NOT NULL"
            " FROM contacts GROUP BY 1, 2, 3",
        )
        assert sorted(consent) == [(False, False, False), (True, True, True)]

        # Grants: the key is the normalised number, and some grants are recorded
        # by several associations, written differently.
        grants = rows(c, "SELECT tenant_id, programme_code, grant_number, grant_key FROM projects")
        by_key = defaultdict(set)
        for tenant_id, programme, number, key in grants:
            assert key == normalise_grant_number(number)
            if key:
                by_key[(programme, key)].add((tenant_id, number))
        shared = [v for v in by_key.values() if len({t for t, _ in v}) > 1]
        assert len(shared) >= 13
        assert any(len({n for _, n in v}) > 1 for v in shared)
        shares = rows(c, "SELECT budget_share FROM participations WHERE budget_share IS NOT NULL")
        assert shares and all(share > 0 for (share,) in shares)

        # Partner requests: every association posts; interests come from other
        # associations' published organisations; contacts go both ways only when accepted.
        assert len(rows(c, "SELECT DISTINCT tenant_id FROM partner_requests")) == 13
        interests = rows(
            c,
            "SELECT i.status, i.tenant_id = i.request_tenant_id, pp.id IS NOT NULL,"
            " count(DISTINCT s.tenant_id) FROM partner_interests i"
            " LEFT JOIN partner_profiles pp ON pp.tenant_id = i.tenant_id"
            " AND pp.organisation_id = i.organisation_id"
            " LEFT JOIN partner_shared_contacts s ON s.interest_id = i.id"
            " GROUP BY i.id, i.status, i.tenant_id, i.request_tenant_id, pp.id",
        )
        assert {status for status, *_ in interests} >= {"pending", "accepted", "declined"}
        assert not any(own for _, own, _, _ in interests)
        assert all(published for _, _, published, _ in interests)
        assert all(sides == (2 if status == "accepted" else 1) for status, _, _, sides in interests)


def test_every_demo_login_works(committed_app, database_urls):
    assert seed(committed_app).exit_code == 0
    with owner(database_urls) as c:
        emails = [r[0] for r in rows(c, "SELECT email FROM users ORDER BY id")]
    assert len(emails) == 2 + 3 * 13
    with committed_app.app_context():
        for email in emails:
            client = committed_app.test_client()
            response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
            assert response.status_code == 302, email
            landed = client.get(response.headers["Location"], follow_redirects=True)
            assert landed.status_code == 200, email
            assert b'action="/logout"' in landed.data, email  # signed in


@pytest.mark.postgres
def test_the_app_role_loads_under_row_level_security(committed_app, database_urls):
    """The seed runs as the app role (no BYPASSRLS), one transaction per association."""
    with committed_app.app_context():
        with db.engine.connect() as connection:
            bypass = connection.scalar(
                text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")
            )
    assert bypass is False
    assert seed(committed_app).exit_code == 0
    with owner(database_urls) as c:
        assert rows(c, "SELECT count(DISTINCT tenant_id) FROM participations") == [(13,)]


class _CountingIds:
    def __init__(self):
        self.counters = defaultdict(itertools.count)

    def next(self, table):
        return next(self.counters[table]) + 1


def test_scale_one_reaches_alliance_size():
    """Generation alone (no database): the counts --scale 1 loads."""
    generator = Generator(2026, 1.0, date(2026, 11, 25), _CountingIds())
    generator.tenants()
    counts = Counter()
    kinds = Counter()
    external = COLUMNS["organisations"].index("is_external")
    for slug in generator.tenant_ids:
        batch = generator.organisations(slug)
        for table, table_rows in batch.rows.items():
            counts[table] += len(table_rows)
        kinds.update(row[2] for row in batch.rows["organisations"] if not row[external])
        counts["partners"] += sum(1 for row in batch.rows["organisations"] if row[external])
    for batch in generator.projects().values():
        for table, table_rows in batch.rows.items():
            counts[table] += len(table_rows)
    assert kinds["cluster"] >= 740
    assert kinds["firm"] >= 134_000
    assert sum(kinds.values()) == sum(BASE_COUNTS.values()) + 2  # 2 clusters from rounding
    assert counts["partners"] >= BASE_PARTNERS - 13  # rounding per association
    assert counts["projects"] >= 20_000
    assert counts["participations"] >= 250_000


def test_the_demo_cordis_sample_gives_every_reconciliation_list_content(
    committed_app, database_urls
):
    """Members with PICs, a CORDIS sample of the demo's own grants loaded by the real
    loader, and in every association: grants found in CORDIS and not recorded, recorded
    grants CORDIS does not know, and possible matches by name."""
    from crm.cordis import queries
    from crm.identifiers import check_vat_id
    from crm.tenancy import tenant_scope

    assert seed(committed_app).exit_code == 0
    with owner(database_urls) as c:
        members = rows(
            c, "SELECT tenant_id, pic, vat_id, country FROM organisations WHERE NOT is_external"
        )
        pics = [r[1] for r in members if r[1]]
        assert 0.05 < len(pics) / len(members) < 0.5
        assert all(len(p) == 9 and p.isdigit() for p in pics)
        assert len({(r[0], r[1]) for r in members if r[1]}) == len(pics)  # unique per association
        vats = [(r[2], r[3]) for r in members if r[2]]
        assert vats and all(check_vat_id(v, country) is None for v, country in vats)
        recorded = {
            r[0] for r in rows(c, "SELECT grant_key FROM projects WHERE grant_key IS NOT NULL")
        }
        grants = {r[0] for r in rows(c, "SELECT grant_key FROM cordis_projects")}
        held = set(pics)
        # Each CORDIS grant is one the demo records, or one a member with a PIC is in.
        unrecorded = grants - recorded
        assert unrecorded and grants & recorded
        in_unrecorded = {
            r[0]
            for r in rows(c, "SELECT grant_key, pic FROM cordis_participants")
            if r[0] in unrecorded and r[1] in held
        }
        assert in_unrecorded == unrecorded
        # The recorded ones carry the recorded facts.
        same = rows(
            c,
            "SELECT count(*) FROM cordis_projects cp JOIN projects p ON p.grant_key = cp.grant_key"
            " WHERE cp.start_date = p.start_date AND cp.total_cost = p.total_budget",
        )
        assert same[0][0] >= len(grants & recorded)
        tenant_ids = [r[0] for r in rows(c, "SELECT id FROM tenants")]
    with committed_app.app_context():
        for tid in tenant_ids:
            with tenant_scope(tid):
                assert queries.unrecorded(tid), tid
                assert queries.unknown_grants(tid), tid
                assert queries.name_suggestions(tid), tid
