"""Every route of the projects area, across tenants and roles (walks the url_map,
so a new route is covered without editing this file)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from crm.models import Participation, Project, ProjectStatusChange
from crm.tenancy import tenant_scope
from tests.accounts import routes

STAFF_ONLY = {"projects.index", "projects.new"}
MANAGER_ONLY = {"projects.my_cluster", "projects.cluster_proposal"}


def project_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("projects.")]


@pytest.fixture
def tenants(make, world):
    """``world`` (tenant A) and a tenant B with the same kinds of objects."""

    def ids_of(tenant, cluster, firm):
        project = make.project(tenant, cluster_id=cluster.id, grant_number="GA 42")
        participation = make.participation(project, firm, role="coordinator")
        return {"project_id": project.id, "participation_id": participation.id, "org_id": firm.id}

    a_ids = ids_of(world.tenant, world.cluster, world.firm1)
    b = make.tenant(slug="assoc-q", country="DE")
    b_cluster = make.cluster(b)
    b_firm = make.org(b)
    make.cluster_member(b_cluster, b_firm)
    b_ids = ids_of(b, b_cluster, b_firm)
    b_users = {
        "tenant_admin": make.user(b, role="tenant_admin"),
        "secretariat": make.user(b, role="secretariat"),
        "cluster_manager": make.user(b, role="cluster_manager", cluster=b_cluster),
    }
    return SimpleNamespace(a=world, a_ids=a_ids, b=b, b_ids=b_ids, b_users=b_users)


def _fingerprint(session, tenant_id):
    with tenant_scope(tenant_id):
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Project, Participation, ProjectStatusChange)
        ) + (session.scalar(select(func.max(Project.updated_at))),)


def _cases(app, slug, ids):
    for rule in project_rules(app):
        path = routes.build_path(rule, slug, ids)
        for method in routes.methods(rule):
            yield rule, method, path


def test_every_projects_endpoint_is_walked(app):
    endpoints = {r.endpoint for r in project_rules(app)}
    assert endpoints >= STAFF_ONLY | MANAGER_ONLY | {"projects.show", "projects.outcome"}


def test_other_tenants_ids_and_slug_answer_404(app, session, tenants, signed_in):
    a, b = tenants.a, tenants.b
    before = _fingerprint(session, b.id)
    failures, cases = [], 0
    clients = {
        "tenant_admin": signed_in(a.users.admin),
        "secretariat": signed_in(a.users.secretariat),
        "cluster_manager": signed_in(a.users.manager),
    }
    for role, client in clients.items():
        for ids in (tenants.b_ids, {**tenants.a_ids, "project_id": tenants.b_ids["project_id"]}):
            for rule, method, path in _cases(app, a.tenant.slug, ids):
                if not routes.id_args(rule):
                    continue
                cases += 1
                status = client.open(path, method=method, data={}).status_code
                if status != 404:
                    failures.append(f"{role} {method} {path} -> {status}")
        # B's users on A's slug, and A's users on B's slug.
        for _rule, method, path in _cases(app, b.slug, tenants.b_ids):
            cases += 1
            status = client.open(path, method=method, data={}).status_code
            if status != 404:
                failures.append(f"{role} {method} {path} -> {status}")
    for role, user in tenants.b_users.items():
        client = signed_in(user)
        for _rule, method, path in _cases(app, a.tenant.slug, tenants.a_ids):
            cases += 1
            status = client.open(path, method=method, data={}).status_code
            if status != 404:
                failures.append(f"B {role} {method} {path} -> {status}")
    assert _fingerprint(session, b.id) == before
    assert cases > 50
    assert not failures, "\n".join(failures)


def _expected(endpoint: str, who: str) -> set[int]:
    """Allowed answers for a visitor of tenant A on A's own objects."""
    if who == "anonymous":
        return {302}  # to the sign-in page
    if who in ("alliance_admin", "alliance_analyst"):
        return {404}
    if who == "other_manager":  # manages cluster Beta: project A is not theirs
        return {404} if endpoint not in MANAGER_ONLY else {200, 302, 422}
    if who == "cluster_manager" and endpoint in STAFF_ONLY:
        return {404}
    if who in ("tenant_admin", "secretariat") and endpoint in MANAGER_ONLY:
        return {404}
    return {200, 302, 422}


def test_roles_get_what_their_role_allows(app, session, make, tenants, signed_in):
    a = tenants.a
    visitors = {
        "anonymous": app.test_client(),
        "tenant_admin": signed_in(a.users.admin),
        "secretariat": signed_in(a.users.secretariat),
        "cluster_manager": signed_in(a.users.manager),
        "other_manager": signed_in(a.users.other_manager),
        "alliance_admin": signed_in(make.user(None, role="alliance_admin")),
        "alliance_analyst": signed_in(make.user(None, role="alliance_analyst")),
    }
    failures, cases = [], 0
    for who, client in visitors.items():
        for rule, method, path in _cases(app, a.tenant.slug, tenants.a_ids):
            if method == "POST" and who in ("tenant_admin", "secretariat", "cluster_manager"):
                continue  # allowed writes are tested with real data elsewhere
            cases += 1
            status = client.open(path, method=method, data={}).status_code
            if status not in _expected(rule.endpoint, who):
                failures.append(f"{who} {method} {path} -> {status}")
    assert cases > 40
    assert not failures, "\n".join(failures)
