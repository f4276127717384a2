"""Who may open the members pages, and tenant isolation of every members route.

The project's convention (``crm.accounts.access.roles_required``) answers 404, not 403,
to a signed-in user whose role may not see a page: nothing about the page or
the object leaks. The accounts isolation matrix (tests/accounts) walks every
tenant route with another tenant's ids as well; this file covers the members
routes explicitly, with both methods and every role.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from crm.models import Contact, Organisation
from crm.tenancy import all_tenants, tenant_scope
from tests.accounts import routes


def member_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("members.")]


@pytest.fixture
def world(make):
    """Two associations with an organisation, a cluster, a membership and a contact each."""

    def populate(slug, country):
        tenant = make.tenant(slug=slug, country=country)
        cluster = make.cluster(tenant, name=f"{slug} cluster")
        firm = make.org(tenant, name=f"{slug} firm")
        make.membership(firm)
        make.cluster_member(cluster, firm)
        contact = make.contact(firm)
        users = {
            role: make.user(
                tenant, role=role, cluster=cluster if role == "cluster_manager" else None
            )
            for role in ("tenant_admin", "secretariat", "cluster_manager")
        }
        return tenant, {"org_id": firm.id, "contact_id": contact.id}, users

    a = populate("assoc-a", "FR")
    b = populate("assoc-b", "PL")
    return a, b


def counts(session, tenant_id):
    with tenant_scope(tenant_id):
        return (
            session.scalar(select(func.count(Organisation.id))),
            session.scalar(select(func.count(Contact.id))),
            session.scalar(select(func.max(Organisation.updated_at))),
            session.scalar(select(func.max(Contact.updated_at))),
        )


def test_every_members_route_is_for_the_secretariat_only(app, make, world, signed_in):
    (tenant, ids, users), _ = world
    rules = member_rules(app)
    assert len(rules) >= 15
    clients = {
        "cluster_manager": signed_in(users["cluster_manager"]),
        "alliance_admin": signed_in(make.user(None, role="alliance_admin")),
        "alliance_analyst": signed_in(make.user(None, role="alliance_analyst")),
    }
    failures = []
    for who, client in clients.items():
        for rule in rules:
            path = routes.build_path(rule, tenant.slug, ids)
            for method in routes.methods(rule):
                status = client.open(path, method=method).status_code
                if status != 404:
                    failures.append(f"{who} {method} {path} -> {status}")
    assert not failures, "\n".join(failures)


def test_anonymous_is_sent_to_login(app, world):
    (tenant, ids, _), _ = world
    client = app.test_client()
    for rule in member_rules(app):
        path = routes.build_path(rule, tenant.slug, ids)
        for method in routes.methods(rule):
            response = client.open(path, method=method)
            assert response.status_code == 302, path
            assert "/login" in response.headers["Location"]


def test_tenant_admin_and_secretariat_are_allowed(app, world, signed_in):
    (tenant, ids, users), _ = world
    for role in ("tenant_admin", "secretariat"):
        client = signed_in(users[role])
        for path in ("dashboard", "members", f"members/{ids['org_id']}", "renewals"):
            assert client.get(f"/{tenant.slug}/{path}").status_code == 200, (role, path)


def test_other_tenants_ids_answer_404_and_change_nothing(app, session, world, signed_in):
    (tenant_a, ids_a, users_a), (tenant_b, ids_b, _) = world
    before = counts(session, tenant_b.id)
    failures, cases = [], 0
    for role in ("tenant_admin", "secretariat"):
        client = signed_in(users_a[role])
        for rule in member_rules(app):
            names = routes.id_args(rule)
            if not names:
                continue
            path = routes.build_path(rule, tenant_a.slug, ids_b)
            for method in routes.methods(rule):
                cases += 1
                data = {
                    "status": "left",
                    "effective_on": "2025-01-01",
                    "reason": "x",
                    "first_name": "X",
                    "last_name": "Y",
                    "kind": "firm",
                    "name": "Hijack",
                    "country": "PL",
                }
                status = client.open(path, method=method, data=data).status_code
                if status != 404:
                    failures.append(f"{role} {method} {path} -> {status}")
    assert cases >= 20
    assert not failures, "\n".join(failures)
    assert counts(session, tenant_b.id) == before


def test_foreign_slug_answers_404(app, world, signed_in):
    (_, _, users_a), (tenant_b, ids_b, _) = world
    client = signed_in(users_a["secretariat"])
    for rule in member_rules(app):
        path = routes.build_path(rule, tenant_b.slug, ids_b)
        assert client.get(path).status_code in (404, 405), path


def test_directory_filters_cannot_reach_another_tenant(app, world, signed_in):
    (tenant_a, _, users_a), (tenant_b, ids_b, _) = world
    client = signed_in(users_a["secretariat"])
    html = client.get(f"/{tenant_a.slug}/members?q=assoc-b").get_data(as_text=True)
    assert "assoc-b firm" not in html
    export = client.get(f"/{tenant_a.slug}/members/export.csv").get_data(as_text=True)
    assert "assoc-b" not in export
    # Filtering by another tenant's cluster id shows nothing, not its members.
    response = client.get(f"/{tenant_a.slug}/members?cluster={ids_b['org_id']}")
    assert "0 results" in response.get_data(as_text=True) or "No organisation matches" in (
        response.get_data(as_text=True)
    )


@pytest.mark.postgres
def test_row_level_security_holds_under_the_directory_queries(app, session, world):
    """With the application wall lifted, PostgreSQL still shows only the set tenant."""
    from crm.members import queries

    (tenant_a, _, _), (tenant_b, _, _) = world
    filters = queries.DirectoryFilters(q="firm")
    with all_tenants():  # no app.tenant_id: RLS shows nothing (fail closed)
        assert queries.directory_page(filters).total == 0
        assert session.scalar(text("SELECT count(*) FROM organisations")) == 0
    with tenant_scope(tenant_a.id):
        page = queries.directory_page(filters)
        assert [row.name for row in page.items] == ["assoc-a firm"]
        # Raw SQL bypasses the ORM criteria; RLS alone keeps B out.
        names = session.scalars(text("SELECT name FROM organisations ORDER BY name")).all()
        assert names == ["assoc-a cluster", "assoc-a firm"]
        assert (
            session.scalar(
                text("SELECT count(*) FROM organisations WHERE lower(name) LIKE '%assoc-b%'")
            )
            == 0
        )


@pytest.mark.postgres
def test_row_level_security_holds_under_the_closest_names(app, session, world):
    """The typo fallback orders by trigram distance; RLS alone still keeps B out."""
    from crm.members import queries

    (tenant_a, _, _), _ = world
    with tenant_scope(tenant_a.id):
        page = queries.directory_page(queries.DirectoryFilters(q="asoc-b firm"))
        assert page.fuzzy and [row.name for row in page.items] == ["assoc-a firm"]
        nearest = session.scalars(
            text("SELECT name FROM organisations ORDER BY 'assoc-b firm' <<-> lower(name) LIMIT 5")
        ).all()
        assert sorted(nearest) == ["assoc-a cluster", "assoc-a firm"]
