"""The contacts list: search, filters, pages, sort, empty state, exports with
e-mails and without erased contacts, a cluster manager's scope, bounded statements."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from crm.models import ClusterMembership, Contact, Tag
from crm.tenancy import tenant_scope


def _names(response) -> list[str]:
    body = response.get_data(as_text=True)
    return re.findall(r'aria-label="Select ([^"]+)"', body)


def test_search_filter_sort_and_pages(assoc, make):
    t = assoc.tenant
    acme = make.org(t, name="Acme Robotics", employees=5, turnover_eur=1_000_000)
    uni = make.org(t, kind="university", name="Université de Lyon")
    make.contact(
        acme, first_name="Ana", last_name="Lopez", email="ana@acme.example", role="management"
    )
    make.contact(acme, first_name="Bo", last_name="Berg", email="bo@acme.example", role="research")
    make.contact(
        uni, first_name="Chloé", last_name="Zola", email="c.zola@univ.example", role="research"
    )
    gone = make.org(t, name="Gone Ltd", archived=True)
    make.contact(gone, first_name="Old", last_name="Archived")
    client, url = assoc.client, f"{assoc.url}/contacts"
    assert _names(client.get(url)) == ["Bo Berg", "Ana Lopez", "Chloé Zola"]
    assert _names(client.get(f"{url}?sort=name&dir=desc")) == ["Chloé Zola", "Ana Lopez", "Bo Berg"]
    # Then by id: the order they were added in.
    assert _names(client.get(f"{url}?sort=organisation")) == ["Ana Lopez", "Bo Berg", "Chloé Zola"]
    assert _names(client.get(f"{url}?q=acme")) == ["Bo Berg", "Ana Lopez"]  # organisation
    assert _names(client.get(f"{url}?q=ZOLA@")) == ["Chloé Zola"]  # e-mail
    assert _names(client.get(f"{url}?q=ana lo")) == ["Ana Lopez"]  # full name
    assert _names(client.get(f"{url}?role=research&kind=firm")) == ["Bo Berg"]
    assert _names(client.get(f"{url}?size=sme")) == ["Bo Berg", "Ana Lopez"]
    assert _names(client.get(f"{url}?kind=university")) == ["Chloé Zola"]
    page2 = client.get(f"{url}?per_page=2&page=2")
    assert _names(page2) == ["Chloé Zola"] and "page 2 of 2" in page2.get_data(as_text=True)
    past = client.get(f"{url}?per_page=2&page=99")
    assert _names(past) == ["Chloé Zola"]
    empty = client.get(f"{url}?q=nobody").get_data(as_text=True)
    assert "No contact matches" in empty


def test_empty_state_without_contacts(assoc):
    body = assoc.client.get(f"{assoc.url}/contacts").get_data(as_text=True)
    assert "No contacts yet" in body


def test_exports_hold_emails_and_leave_out_erased_contacts(assoc, make, session):
    org = make.org(assoc.tenant, name="Acme Robotics")
    make.contact(org, first_name="Ana", last_name="Lopez", email="ana@acme.example")
    make.contact(org, first_name="Eve", last_name="=cmd", email="eve@acme.example")
    make.contact(
        org,
        first_name="Erased contact #9",
        last_name="",
        email=None,
        erased_at=datetime.now(UTC),
    )
    tag = make.tag(assoc.tenant, name="Board")
    # Ids across requests (a request expires rows; RLS hides them outside the scope).
    tag_id, org_id, tenant_id = tag.id, org.id, assoc.tenant.id
    csv_response = assoc.client.get(f"{assoc.url}/contacts/export.csv")
    assert csv_response.status_code == 200
    rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["id", "first_name", "last_name", "email"] and "tags" in header
    assert sorted(r[3] for r in body) == ["ana@acme.example", "eve@acme.example"]
    assert "'=cmd" in [r[2] for r in body]  # formula neutralised
    assert not any("Erased" in cell for r in body for cell in r)
    xlsx = assoc.client.get(f"{assoc.url}/contacts/export.xlsx?tag={tag_id}")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert list(sheet.iter_rows(values_only=True))[1:] == []  # nobody tagged yet
    people = _contacts_of(assoc, org_id)  # (expires every row: read the tag after)
    make.tagged(_tag(session, tenant_id, tag_id), *people)
    xlsx = assoc.client.get(f"{assoc.url}/contacts/export.xlsx?tag={tag_id}")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert sorted(r[3] for r in values[1:]) == ["ana@acme.example", "eve@acme.example"]
    assert {r[-1] for r in values[1:]} == {"Board"}


def _contacts_of(assoc, org_id):
    return assoc.scalars(
        select(Contact).where(Contact.organisation_id == org_id, Contact.erased_at.is_(None))
    )


def _tag(session, tenant_id, tag_id) -> Tag:
    with tenant_scope(tenant_id):
        return session.get(Tag, tag_id)


def test_a_cluster_manager_sees_the_clusters_contacts_only(assoc, make, session, signed_in):
    t = assoc.tenant
    cluster = make.cluster(t, name="Aero Cluster")
    member, former, outsider = (make.org(t, name=n) for n in ("Member", "Former", "Outsider"))
    make.cluster_member(cluster, member)
    left = make.cluster_member(cluster, former)
    with tenant_scope(t.id):
        session.get(ClusterMembership, left.id).until = datetime(2024, 1, 1).date()
        session.flush()
    for org, name in ((cluster, "Cleo"), (member, "Mia"), (former, "Fred"), (outsider, "Otto")):
        make.contact(org, first_name=name, last_name="X", email=f"{name.lower()}@ex.example")
    manager = signed_in(make.user(t, role="cluster_manager", cluster=cluster))
    page = manager.get(f"/{t.slug}/contacts")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Cleo X" in body and "Mia X" in body
    assert "Fred" not in body and "Otto" not in body
    assert 'form="bulk-form"' not in body  # no bulk actions for a cluster manager
    export = manager.get(f"/{t.slug}/contacts/export.xlsx").data
    emails = {
        r[3] for r in list(load_workbook(io.BytesIO(export)).active.iter_rows(values_only=True))[1:]
    }
    assert emails == {"cleo@ex.example", "mia@ex.example"}
    lost = signed_in(make.user(t, role="cluster_manager"))
    assert lost.get(f"/{t.slug}/contacts").status_code == 404


def test_statements_do_not_grow_with_page_size_or_data(assoc, make, session, count_queries):
    def run(query):
        with count_queries() as counter:
            assert assoc.client.get(f"{assoc.url}/contacts{query}").status_code == 200
        return counter.count

    tag = make.tag(assoc.tenant)
    tag_id, tenant_id = tag.id, assoc.tenant.id
    org = make.org(assoc.tenant)
    make.tagged(tag, make.contact(org))
    small = run("?per_page=2")
    tag = _tag(session, tenant_id, tag_id)
    for n in range(40):
        other = make.org(assoc.tenant, name=f"Big {n}")
        make.tagged(tag, make.contact(other, role="research"), make.contact(other))
    assert run("?per_page=2") == small
    assert run("?per_page=100") == small
    assert run(f"?per_page=100&q=big&role=research&tag={tag_id}&size=sme") == small
    # Session user and tenant, the page (with its total and tags), the three choice lists, nav.
    assert small <= 8
