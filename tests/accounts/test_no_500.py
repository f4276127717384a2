"""No GET route answers 500, whoever asks: anonymous, another tenant's user, any role."""

from __future__ import annotations

import pytest

from crm import create_app
from tests.accounts import routes


def _get_rules():
    # A throwaway app just to read the url_map at collection time, so a route
    # added anywhere gets its own test case without editing this file.
    app = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return sorted((r.endpoint, r.rule) for r in routes.get_rules(app) if r.endpoint != "static")


GET_RULES = _get_rules()
VISITORS = (
    "anonymous",
    "other_tenant_admin",
    "tenant_admin",
    "secretariat",
    "cluster_manager",
    "alliance_admin",
    "alliance_analyst",
)


@pytest.fixture
def visitors(app, make, two_tenants, signed_in):
    a, b = two_tenants.a, two_tenants.b
    clients = {
        "anonymous": app.test_client(),
        "other_tenant_admin": signed_in(b.users["tenant_admin"]),
    }
    for role in ("tenant_admin", "secretariat", "cluster_manager"):
        clients[role] = signed_in(a.users[role])
    for role in ("alliance_admin", "alliance_analyst"):
        clients[role] = signed_in(make.user(None, role=role))
    return clients


@pytest.mark.parametrize(("endpoint", "path"), GET_RULES, ids=[e for e, _ in GET_RULES])
def test_get_route_never_answers_500(app, two_tenants, visitors, endpoint, path):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == path)
    url = routes.build_path(rule, two_tenants.a.tenant.slug, two_tenants.a.ids)
    failures = []
    for who, client in visitors.items():
        status = client.get(url).status_code
        if status >= 500:
            failures.append(f"{who} GET {url} -> {status}")
    assert not failures, "\n".join(failures)


def test_every_get_route_is_covered():
    assert len(GET_RULES) >= 8


def test_visitors_are_really_signed_in(two_tenants, visitors):
    slug = two_tenants.a.tenant.slug
    assert visitors["tenant_admin"].get(f"/{slug}/users").status_code == 200
    assert visitors["secretariat"].get(f"/{slug}/users").status_code == 404
    assert visitors["anonymous"].get(f"/{slug}/users").status_code == 302
