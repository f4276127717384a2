"""Tenant A's users never reach tenant B's objects, whatever the route."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models import CROSS_TENANT_READABLE, TENANT_TABLES, Base, User
from crm.models.user import TENANT_ROLES
from crm.profiles import services as profiles
from crm.tenancy import tenant_scope
from tests.accounts import routes


def fingerprint(session, tenant_id: int) -> dict:
    """Counts and latest change of each of the tenant's tables, and its users."""
    out = {}
    with tenant_scope(tenant_id):
        # Published profiles too: readable by A, never writable by A.
        for name in [*TENANT_TABLES, *CROSS_TENANT_READABLE, "job_runs"]:
            table = Base.metadata.tables[name]
            columns = [func.count()]
            for col in ("updated_at", "status", "progress"):
                if col in table.c:
                    columns.append(func.max(table.c[col]))
            query = select(*columns).select_from(table).where(table.c.tenant_id == tenant_id)
            out[name] = tuple(session.execute(query).one())
        out["users"] = tuple(
            session.execute(
                select(
                    func.count(User.id),
                    func.max(User.updated_at),
                    func.sum(User.session_version),
                    func.count(User.id).filter(User.active.is_(True)),
                ).where(User.tenant_id == tenant_id)
            ).one()
        )
    return out


def request(client, method: str, path: str):
    return client.open(path, method=method, data={})


def test_other_tenants_object_ids_answer_404(app, session, two_tenants, sign_in):
    a, b = two_tenants.a, two_tenants.b
    rules = [r for r in routes.tenant_rules(app) if routes.id_args(r)]
    skipped = [r.rule for r in routes.tenant_rules(app) if routes.other_int_args(r)]
    if skipped:
        print("isolation matrix: not covered (other int arguments):", skipped)
    before = fingerprint(session, b.tenant.id)
    failures, cases = [], 0
    for role in TENANT_ROLES:
        client = sign_in(a.users[role])
        for rule in rules:
            names = routes.id_args(rule)
            # All ids from B, and (for nested routes) one id from B with the rest from A.
            variants = [{n: b.ids[n] for n in names}]
            if len(names) > 1:
                variants += [{**a.ids, n: b.ids[n]} for n in names]
            for ids in variants:
                path = routes.build_path(rule, a.tenant.slug, ids)
                for method in routes.methods(rule):
                    cases += 1
                    status = request(client, method, path).status_code
                    if status != 404:
                        failures.append(f"{role} {method} {path} -> {status}")
    assert fingerprint(session, b.tenant.id) == before, "tenant B's data changed"
    print(f"isolation matrix: {cases} route x role x method cases checked")
    assert cases > 0
    assert not failures, "\n".join(failures)


def run_cases(clients: dict, rules, slug: str, ids: dict) -> tuple[int, list[str]]:
    """Request every rule with every method as every client; list what was not 404."""
    cases, failures = 0, []
    for who, client in clients.items():
        for rule in rules:
            path = routes.build_path(rule, slug, ids)
            for method in routes.methods(rule):
                cases += 1
                status = request(client, method, path).status_code
                if status != 404:
                    failures.append(f"{who} {method} {path} -> {status}")
    return cases, failures


def test_other_tenants_slug_answers_404(app, session, two_tenants, sign_in):
    a, b = two_tenants.a, two_tenants.b
    before = fingerprint(session, b.tenant.id)
    clients = {role: sign_in(a.users[role]) for role in TENANT_ROLES}
    cases, failures = run_cases(clients, routes.tenant_rules(app), b.tenant.slug, b.ids)
    assert fingerprint(session, b.tenant.id) == before
    print(f"isolation matrix (foreign slug): {cases} cases checked")
    assert cases > 0
    assert not failures, "\n".join(failures)


def test_alliance_roles_get_404_on_tenant_pages(app, session, make, two_tenants, sign_in):
    a = two_tenants.a
    before = fingerprint(session, a.tenant.id)
    roles = ("alliance_admin", "alliance_analyst")
    clients = {role: sign_in(make.user(None, role=role)) for role in roles}
    cases, failures = run_cases(clients, routes.tenant_rules(app), a.tenant.slug, a.ids)
    assert fingerprint(session, a.tenant.id) == before
    assert cases > 0
    assert not failures, "\n".join(failures)


def test_shared_request_routes(app, session, make, two_tenants, sign_in):
    """B's partner request, with an interest from a third association C: A's users
    read the request (that is its purpose), never C's interest or contact, and
    change nothing of B's or C's, whatever the route, method or role."""
    a, b = two_tenants.a, two_tenants.b
    c = make.tenant(slug="assoc-c")
    c_firm = make.org(c, name="Third Party Robotics")
    contact = make.contact(c_firm, email="third@party.example")
    with tenant_scope(c.id):
        profiles.publish(session, c_firm, "Cobots", "cobots")
    request_ = make.partner_request(b.firm, title="B seeks partners")
    interest = make.interest(request_, c_firm, contact, message="C's private message")
    ids = {**a.ids, "request_id": request_.id, "interest_id": interest.id}
    before = {t: fingerprint(session, t) for t in (b.tenant.id, c.id)}
    rules = [r for r in routes.tenant_rules(app) if routes.shared_id_args(r)]
    failures, cases = [], 0
    for role in TENANT_ROLES:
        client = sign_in(a.users[role])
        for rule in rules:
            path = routes.build_path(rule, a.tenant.slug, ids)
            for method in routes.methods(rule):
                cases += 1
                response = request(client, method, path)
                body = response.get_data(as_text=True)
                if "Third Party" in body or "third@party" in body or "private message" in body:
                    failures.append(f"{role} {method} {path} shows C's interest")
                # Reading the request, or an (empty, refused) expression of interest.
                allowed = (
                    {"GET": (200,), "POST": (404, 422)}
                    if rule.endpoint in ("partner_requests.show", "partner_requests.interest")
                    else {}
                )
                if response.status_code not in allowed.get(method, (404,)):
                    failures.append(f"{role} {method} {path} -> {response.status_code}")
    assert {t: fingerprint(session, t) for t in (b.tenant.id, c.id)} == before
    assert cases >= 5 * len(TENANT_ROLES)
    assert not failures, "\n".join(failures)


def test_unknown_id_argument_fails_loudly(app):
    from werkzeug.routing import Map, Rule

    rule = Rule("/<tenant>/things/<int:org_id>")
    Map([rule])
    try:
        routes.build_path(rule, "a", {})
    except AssertionError as error:
        assert "org_id" in str(error)
    else:
        raise AssertionError("build_path accepted an id it cannot make")
