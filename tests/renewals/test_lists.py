"""The four renewal lists: each selection against an independent computation
in Python over factory rows, with a fixed ``today``; order, labels, paging,
exports (CSV, XLSX in the request and as a job), the mailing link."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from crm.extensions import db
from crm.models import AssociationMembership
from crm.renewals import queries
from crm.tenancy import tenant_scope
from tests.clients import client_as
from tests.conftest import jobs_app
from tests.factories import Factories
from tests.members.test_export_jobs import work

TODAY = date(2026, 6, 15)
STATUSES = ("applicant", "active", "active", "active", "suspended", "lapsed", "left")


def _expected(rows, list_name: str, days: int) -> set[int]:
    """The list by its documented definition, over plain Python values."""
    out = set()
    for r in rows:
        if r["archived"] or r["external"]:
            continue
        paid = r["paid_until"]
        if list_name == "overdue":
            hit = r["status"] == "active" and (paid is None or paid < TODAY)
        elif list_name == "due":
            hit = r["status"] == "active" and paid is not None
            hit = hit and TODAY <= paid <= TODAY + timedelta(days=days)
        elif list_name == "lapsed":
            hit = r["status"] == "lapsed"
        else:
            hit = r["status"] == "applicant"
        if hit:
            out.add(r["org_id"])
    return out


def _population(make, tenant, n=120, seed=15):
    """``n`` organisations with random statuses and paid-until dates around TODAY
    (some none, some on the boundaries), a few archived or external."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        archived = rng.random() < 0.08
        external = not archived and rng.random() < 0.05
        org = make.org(tenant, name=f"Org {i:03d}", archived=archived, is_external=external)
        status = rng.choice(STATUSES)
        offset = rng.choice([None, -400, -31, -1, 0, 1, 7, 8, 29, 30, 31, 90, 91, 200])
        offset = offset if offset is None else offset + rng.choice([0, 0, 0, rng.randint(-3, 3)])
        paid = None if offset is None else TODAY + timedelta(days=offset)
        left_on = TODAY - timedelta(days=rng.randint(1, 300)) if status == "lapsed" else None
        if not external:
            make.membership(org, status=status, paid_until=paid, left_on=left_on)
        rows.append(
            {
                "org_id": org.id,
                "status": status if not external else None,
                "paid_until": paid,
                "left_on": left_on,
                "archived": archived,
                "external": external,
            }
        )
    return rows


@pytest.mark.parametrize("days", [7, 30, 90])
def test_each_list_selects_what_its_definition_says(assoc, make, session, days):
    rows = _population(make, assoc.tenant)
    other = make.tenant(slug="assoc-other")
    _population(make, other, n=30, seed=16)  # never in assoc's lists
    with tenant_scope(assoc.tenant.id):
        for list_name in queries.LISTS:
            selected = queries.memberships(assoc.tenant.id, list_name, TODAY, days)
            got = set(
                session.scalars(selected.with_only_columns(AssociationMembership.organisation_id))
            )
            want = _expected(rows, list_name, days)
            assert got == want, list_name
            assert want, f"the population has no {list_name} row"
        counts = queries.counts(TODAY, days)
    assert counts == {name: len(_expected(rows, name, days)) for name in queries.LISTS}


def test_lists_are_sorted_by_what_needs_attention_first(assoc, make, session):
    rows = _population(make, assoc.tenant)
    by_id = {r["org_id"]: r for r in rows}
    with tenant_scope(assoc.tenant.id):
        pages = {
            name: queries.page(assoc.tenant.id, queries.Selection(name, 30), TODAY, 1, 500)
            for name in queries.LISTS
        }
    overdue = [r.id for r in pages["overdue"].items]
    # Never paid first, then the oldest paid-until date; ties by organisation.
    assert overdue == sorted(
        _expected(rows, "overdue", 30),
        key=lambda i: (by_id[i]["paid_until"] is not None, by_id[i]["paid_until"] or TODAY, i),
    )
    due = [r.id for r in pages["due"].items]
    assert due == sorted(_expected(rows, "due", 30), key=lambda i: (by_id[i]["paid_until"], i))
    lapsed = [r.id for r in pages["lapsed"].items]
    assert lapsed == sorted(
        _expected(rows, "lapsed", 30), key=lambda i: (-by_id[i]["left_on"].toordinal(), i)
    )
    applicants = [r.id for r in pages["applicants"].items]
    assert sorted(applicants) == sorted(_expected(rows, "applicants", 30))


def test_the_page_labels_days_and_pages(app, assoc, make, monkeypatch):
    today = date.today()
    for n in range(5):
        org = make.org(assoc.tenant, name=f"Late {n}")
        make.membership(org, status="active", paid_until=today - timedelta(days=10 + n))
    soon = make.org(assoc.tenant, name="Soon")
    make.membership(soon, status="active", paid_until=today + timedelta(days=1))
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    first = assoc.client.get(f"{assoc.url}/renewals").get_data(as_text=True)
    assert "Late 4" in first and "14 days overdue" in first and "Late 3" in first
    assert "page 1 of 3" in first and "Late 2" not in first
    last = assoc.client.get(f"{assoc.url}/renewals?page=3").get_data(as_text=True)
    assert "Late 0" in last and "10 days overdue" in last
    due = assoc.client.get(f"{assoc.url}/renewals?list=due&days=3").get_data(as_text=True)
    assert "Soon" in due and "1 day left" in due and "within the next 3 days" in due
    assert 'href="/assoc-fr/members/' in due and "Renew" in due
    # The list is a mailing's audience, and a directory view, as it stands.
    assert f'href="{assoc.url}/mailings/new?renewal=due&amp;days=3">Mail these' in due
    assert f'href="{assoc.url}/members?renewal=due&amp;days=3" id="open-in-directory"' in due


def test_list_statements_do_not_grow_with_data(assoc, make, count_queries):
    today = date.today()

    def statements(path):
        with count_queries() as counter:
            assert assoc.client.get(f"{assoc.url}{path}").status_code == 200
        return counter.count

    make.membership(make.org(assoc.tenant), paid_until=today - timedelta(days=3))
    paths = ["/renewals", "/renewals?list=due&days=90", "/renewals?list=lapsed&page=3"]
    few = [statements(path) for path in paths]
    with tenant_scope(assoc.tenant.id):
        for n in range(60):
            status = ("active", "lapsed", "applicant")[n % 3]
            paid = today + timedelta(days=n - 30)
            make.membership(make.org(assoc.tenant), status=status, paid_until=paid)
    assert [statements(path) for path in paths] == few


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_exports_hold_the_lists_rows(assoc, make):
    today = date.today()
    late = make.org(assoc.tenant, name="=Late Formula", city="Lyon")
    make.membership(late, status="active", paid_until=today - timedelta(days=20))
    make.contact(late, email="late@example.org", is_primary=True)
    make.contact(late, email="other@example.org")
    never = make.org(assoc.tenant, name="Never Paid")
    make.membership(never, status="active", fee_amount=250, fee_currency="PLN")
    soon = make.org(assoc.tenant, name="Soon")
    make.membership(soon, status="active", paid_until=today + timedelta(days=5))
    make.membership(make.org(assoc.tenant, name="Gone"), status="lapsed")
    rows = _csv(assoc.client.get(f"{assoc.url}/renewals/export.csv?list=overdue"))
    assert [r["name"] for r in rows] == ["Never Paid", "'=Late Formula"]
    assert rows[1]["days_past_paid_until"] == "20" and rows[0]["days_past_paid_until"] == ""
    assert rows[1]["primary_contact_email"] == "late@example.org"
    assert (rows[0]["fee_amount"], rows[0]["fee_currency"]) == ("250.0", "PLN")
    due = _csv(assoc.client.get(f"{assoc.url}/renewals/export.csv?list=due&days=10"))
    assert [(r["name"], r["days_past_paid_until"]) for r in due] == [("Soon", "-5")]
    xlsx = assoc.client.get(f"{assoc.url}/renewals/export.xlsx?list=lapsed")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = list(sheet.values)
    assert values[0][:2] == ("organisation_id", "name") and values[0][-1] == "days_past_paid_until"
    assert [v[1] for v in values[1:]] == ["Gone"]


SLUG = "assoc-renewal-jobs"


@pytest.fixture(params=["rq", "in-process"])
def export_app(make_app, database_urls, request):
    redis_url = request.getfixturevalue("redis_url") if request.param == "rq" else None
    with jobs_app(make_app, database_urls, redis_url, EXPORT_XLSX_INLINE_MAX_ROWS=3) as app:
        yield app


def test_a_large_renewal_list_is_an_xlsx_job(export_app):
    """Above the inline limit the XLSX is built by the export job (a real rq
    worker when Redis is there), from the same list definition."""
    app = export_app
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug=SLUG)
        for n in range(5):
            org = make.org(tenant, name=f"Overdue {n}")
            make.membership(org, status="active", paid_until=date.today() - timedelta(days=n + 1))
        make.membership(make.org(tenant, name="Applicant"), status="applicant")
        identity = make.user(tenant, role="secretariat").get_id()
        db.session.commit()
    client = client_as(app, identity)
    started = client.get(f"/{SLUG}/renewals/export.xlsx?list=overdue")
    assert started.status_code == 302 and f"/{SLUG}/exports/" in started.headers["Location"]
    if "crm.redis" in app.extensions:
        work(app)
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "5 rows" in page
    start = page.index(f"/{SLUG}/exports/", page.index("Download the file") - 300)
    link = page[start : page.index('"', start)].replace("&amp;", "&")
    sheet = load_workbook(io.BytesIO(client.get(link).data)).active
    names = [row[1] for row in list(sheet.values)[1:]]
    assert names == [f"Overdue {n}" for n in range(4, -1, -1)]
