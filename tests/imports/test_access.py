"""Who may import, and no tenant reaches another tenant's batches by any route."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.models import ImportBatch, Organisation
from crm.tenancy import tenant_scope

BATCH_ROUTES = [
    ("GET", "/{slug}/imports/{id}"),
    ("GET", "/{slug}/imports/{id}/mapping"),
    ("POST", "/{slug}/imports/{id}/mapping"),
    ("POST", "/{slug}/imports/{id}/commit"),
    ("POST", "/{slug}/imports/{id}/encoding"),
    ("GET", "/{slug}/imports/{id}/status"),
    ("GET", "/{slug}/imports/{id}/rejected.csv"),
    ("POST", "/{slug}/imports/{id}/delete-file"),
]


def test_every_batch_route_is_listed_here(app):
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("imports.")}
    listed = {
        path.replace("{slug}", "<tenant>").replace("{id}", "<int:batch_id>")
        for _m, path in BATCH_ROUTES
    }
    assert rules == listed | {"/<tenant>/imports"}


@pytest.mark.parametrize(("method", "path"), BATCH_ROUTES)
def test_another_tenants_batch_answers_404(
    signed_in, make, session, tenant, secretariat, method, path
):
    other = make.tenant(slug="assoc-other")
    foreign = make.import_batch(other, status="checked")
    client = signed_in(secretariat)
    response = client.open(
        path.format(slug=tenant.slug, id=foreign.id), method=method, data={"map_name": "name"}
    )
    assert response.status_code == 404
    assert b"members.csv" not in response.data
    with tenant_scope(other.id):
        assert session.get(ImportBatch, foreign.id).status == "checked"
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/{slug}/imports"), ("POST", "/{slug}/imports"), *BATCH_ROUTES]
)
def test_cluster_managers_and_alliance_users_cannot_import(signed_in, make, tenant, method, path):
    batch = make.import_batch(tenant, status="checked")
    cluster = make.cluster(tenant)
    for user in (
        make.user(tenant, role="cluster_manager", cluster=cluster),
        make.user(None, role="alliance_admin"),
    ):
        response = signed_in(user).open(
            path.format(slug=tenant.slug, id=batch.id), method=method, data={}
        )
        assert response.status_code == 404, (user.role, method, path)


@pytest.mark.parametrize(("method", "path"), [("GET", "/{slug}/imports"), *BATCH_ROUTES])
def test_signed_out_visitors_are_sent_to_login(app, make, tenant, method, path):
    batch = make.import_batch(tenant)
    response = app.test_client().open(path.format(slug=tenant.slug, id=batch.id), method=method)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["tenant_admin", "secretariat"])
def test_admins_and_secretariat_see_the_page_and_their_batches_only(signed_in, make, tenant, role):
    mine = make.import_batch(tenant, filename="ours.csv")
    make.import_batch(make.tenant(slug="assoc-x"), filename="theirs.csv")
    page = signed_in(make.user(tenant, role=role)).get(f"/{tenant.slug}/imports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "ours.csv" in text and "theirs.csv" not in text
    assert f"/imports/{mine.id}" in text


def test_import_page_query_count_does_not_grow_with_batches(
    signed_in, make, tenant, secretariat, count_queries
):
    client = signed_in(secretariat)
    make.import_batch(tenant)
    client.get(f"/{tenant.slug}/imports")
    with count_queries() as few:
        client.get(f"/{tenant.slug}/imports")
    for _ in range(10):
        make.import_batch(tenant)
    with count_queries() as many:
        client.get(f"/{tenant.slug}/imports")
    # One query for the list, whatever its length (and the navigation's notification count).
    assert many.count <= few.count <= 7


def test_status_endpoint_answers_json(signed_in, make, tenant, secretariat):
    batch = make.import_batch(tenant, status="checked", created_count=3)
    client = signed_in(secretariat)
    body = client.get(f"/{tenant.slug}/imports/{batch.id}/status").json
    assert body["status"] == "finished" and body["created"] == 3 and body["progress"] == 100
    unknown = client.get(f"/{tenant.slug}/imports/999999/status")
    assert unknown.status_code == 404
