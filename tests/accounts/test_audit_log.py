"""The tenant admin's audit log: their events only, filters, before/after, CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from tests.factories import PASSWORD


def test_audit_log_shows_this_tenants_events_with_changes(make, sign_in, client):
    a, b = make.tenant(), make.tenant()
    admin, user = make.user(a, role="tenant_admin"), make.user(a)
    make.org(b, name="Secret Beta Org")
    client.post("/login", data={"email": user.email, "password": "wrong password!"})
    admin_client = sign_in(admin)
    admin_client.post(
        f"/{a.slug}/users/{user.id}/edit",
        data={"name": "Renamed Person", "role": "secretariat", "cluster_id": "None"},
    )
    admin_client.post(f"/{a.slug}/users/{user.id}/deactivate")
    response = admin_client.get(f"/{a.slug}/audit")
    assert response.status_code == 200
    body = response.data.decode()
    for text in ("login failed", "user deactivated", "Renamed Person", "→"):
        assert text in body, text
    assert "Secret Beta Org" not in body


def test_audit_log_filters(make, sign_in):
    tenant = make.tenant()
    admin, other = make.user(tenant, role="tenant_admin"), make.user(tenant)
    client = sign_in(admin)
    sign_in(other)
    response = client.get(f"/{tenant.slug}/audit?action=login&user={other.id}")
    assert response.status_code == 200
    assert b"1 result" in response.data
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    response = client.get(f"/{tenant.slug}/audit?date_from={tomorrow}")
    assert b"No events match" in response.data
    response = client.get(f"/{tenant.slug}/audit?entity_type=organisations&date_to=2000-01-01")
    assert response.status_code == 200 and b"No events match" in response.data


def test_audit_log_shows_throttled_logins_and_exports_csv(make, sign_in, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FREE_FAILURES", 2)
    tenant = make.tenant()
    admin, user = make.user(tenant, role="tenant_admin"), make.user(tenant)
    for _ in range(3):
        client.post("/login", data={"email": user.email, "password": PASSWORD + "x"})
    admin_client = sign_in(admin)
    response = admin_client.get(f"/{tenant.slug}/audit?action=login_throttled")
    assert b"1 result" in response.data
    response = admin_client.get(f"/{tenant.slug}/audit?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    assert "login_throttled" in text and "login_failed" in text


def test_audit_log_query_count_is_bounded(make, sign_in, count_queries):
    tenant = make.tenant()
    admin = make.user(tenant, role="tenant_admin")
    client = sign_in(admin)
    for _ in range(5):
        sign_in(make.user(tenant))
    with count_queries() as q:
        assert client.get(f"/{tenant.slug}/audit").status_code == 200
    assert q.count <= 11  # the page's own, and the navigation's notification count


def test_audit_csv_names_who_did_what_in_one_query(make, sign_in, count_queries):
    tenant = make.tenant()
    admin, user = make.user(tenant, role="tenant_admin"), make.user(tenant)
    client = sign_in(admin)
    client.post(
        f"/{tenant.slug}/users/{user.id}/edit",
        data={"name": "Renamed Person", "role": "secretariat", "cluster_id": "None"},
    )
    with count_queries() as few:
        response = client.get(f"/{tenant.slug}/audit?format=csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][4:7] == ["by", "summary", "changes"]
    edits = [row for row in rows[1:] if "Renamed Person" in row[6]]
    assert edits and edits[0][4] == admin.email
    for _ in range(6):
        sign_in(make.user(tenant))
    with count_queries() as many:
        assert client.get(f"/{tenant.slug}/audit?format=csv").status_code == 200
    assert many.count == few.count, many.statements


def test_audit_log_shows_labels_and_the_names_of_records(make, sign_in, count_queries):
    from crm.tenancy import tenant_scope
    from tests.members.test_validation import VALID

    tenant = make.tenant(country="ES")
    admin = make.user(tenant, role="tenant_admin")
    cluster = make.cluster(tenant, name="Biocat Cluster")
    org = make.org(tenant, name="Mondragón Labs")
    slug, org_id, cluster_id, tenant_id = tenant.slug, org.id, cluster.id, tenant.id
    client = sign_in(admin)
    edited = {**VALID, "name": "Mondragón Labs", "country": "ES", "vat_id": ""}
    edited.update(nuts2="ES21", registration_id="", cluster_ids=[str(cluster_id)])
    assert client.post(f"/{slug}/members/{org_id}/edit", data=edited).status_code == 302
    body = client.get(f"/{slug}/audit").get_data(as_text=True)
    assert "<dt>Region</dt>" in body and "— → País Vasco (ES21)" in body
    assert "<dt>Cluster</dt>" in body and "<dd>Biocat Cluster</dd>" in body
    assert "<dt>Member</dt>" in body and "<dd>Mondragón Labs</dd>" in body
    assert "Organisation: Mondragón Labs" in body
    assert "nuts2" not in body and "cluster_id" not in body
    with count_queries() as few:
        client.get(f"/{slug}/audit")
    with tenant_scope(tenant_id):  # the rows are read again in the association's scope
        for n in range(5):
            make.cluster_member(cluster, make.org(tenant, name=f"Other {n}"))
    with count_queries() as many:
        client.get(f"/{slug}/audit")
    assert many.count == few.count  # names in one query per table, not per event
