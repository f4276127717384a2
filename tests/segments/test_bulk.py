"""Bulk actions: tag, untag, change status and export ticked rows or every row
matching; small ones in the request, large ones as a job on a real rq worker;
every change audited, refusals reported, never a 500."""

from __future__ import annotations

import csv
import io

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from crm.extensions import db
from crm.jobs import QUEUE_NAME
from crm.models import AssociationMembership, AuditEvent, JobRun, Tag, organisation_tags
from crm.tenancy import tenant_scope
from tests.clients import client_as
from tests.conftest import jobs_app
from tests.factories import Factories


def _bulk(client, url, source="members", filters="", **data):
    return client.post(f"{url}/bulk", data={"source": source, "filters": filters, **data})


def _tagged(session, tenant_id, tag_name) -> set[int]:
    with tenant_scope(tenant_id):
        tag = session.scalar(select(Tag).where(Tag.name == tag_name))
        if tag is None:
            return set()
        links = organisation_tags.c
        return set(session.scalars(select(links.organisation_id).where(links.tag_id == tag.id)))


def test_tag_ticked_rows_then_all_matching_then_untag(assoc, make, session):
    t = assoc.tenant
    firms = [make.org(t, name=f"Firm {n}") for n in range(4)]
    uni = make.org(t, kind="university", name="Uni")
    foreign = make.org(make.tenant(), name="Foreign")
    # Ids across requests (a request expires rows; RLS hides them outside the scope).
    firm_ids, uni_id = [f.id for f in firms], uni.id
    ids = [firm_ids[0], firm_ids[1], foreign.id]  # a foreign id is simply not there
    done = _bulk(assoc.client, assoc.url, action="tag", tag="Board", ids=ids)
    assert done.status_code == 302 and done.headers["Location"].endswith("/members")
    assert _tagged(session, t.id, "Board") == {firm_ids[0], firm_ids[1]}
    # Every firm matching: those already tagged are left alone.
    again = _bulk(
        assoc.client, assoc.url, filters="kind=firm", action="tag", tag="board", all_matching="y"
    )
    assert again.status_code == 302 and again.headers["Location"].endswith("/members?kind=firm")
    assert _tagged(session, t.id, "Board") == set(firm_ids)
    assert uni_id not in _tagged(session, t.id, "Board")
    with tenant_scope(t.id):
        tag_events = session.scalars(
            select(AuditEvent.entity_id).where(AuditEvent.action == "tag")
        ).all()
        summaries = session.scalars(
            select(AuditEvent.summary).where(AuditEvent.action == "bulk_tag")
        ).all()
    assert sorted(tag_events) == sorted(firm_ids)  # one event per row changed
    # One summary per bulk action; the foreign id was never part of the selection.
    assert summaries == ["Bulk: 2 of 2 tagged “Board”", "Bulk: 2 of 4 tagged “Board”"]
    untag = _bulk(assoc.client, assoc.url, action="untag", tag="Board", ids=[firm_ids[3]])
    assert untag.status_code == 302
    assert _tagged(session, t.id, "Board") == set(firm_ids[:3])
    unknown = _bulk(assoc.client, assoc.url, action="untag", tag="Nope", ids=[firm_ids[0]])
    assert unknown.status_code == 422 and "no tag of this name" in unknown.get_data(as_text=True)


def test_change_status_reports_refusals(assoc, make, session):
    t = assoc.tenant
    active = make.org(t, name="Already Active")
    make.membership(active, status="active")
    applicant = make.org(t, name="Applicant Ltd")
    make.membership(applicant, status="applicant")
    external = make.org(t, name="Partner GmbH", is_external=True)
    active_id, applicant_id = active.id, applicant.id
    data = {"action": "status", "status": "active", "effective_on": "2026-12-01", "reason": "AGM"}
    response = _bulk(assoc.client, assoc.url, ids=[active_id, applicant_id, external.id], **data)
    assert response.status_code == 302
    with tenant_scope(t.id):
        statuses = dict(
            session.execute(
                select(AssociationMembership.organisation_id, AssociationMembership.status)
            ).all()
        )
    assert statuses == {active_id: "active", applicant_id: "active"}
    page = assoc.client.get("/" + t.slug + "/members").get_data(as_text=True)
    assert "Done: 1 of 3 changed. 2 refused" in page
    assert "Already Active: The membership is already Active." in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"action": "", "ids": ["1"]}, "Choose an action."),
        ({"action": "tag", "tag": "", "ids": ["1"]}, "Name the tag."),
        ({"action": "tag", "tag": "x"}, "Tick the rows to act on"),
        ({"action": "status", "status": "", "ids": ["1"]}, "Choose the new status."),
        ({"action": "status", "status": "active", "ids": ["1"]}, "Say why the status changes."),
        ({"action": "status", "source": "contacts", "ids": ["1"]}, "Choose an action."),
        ({"action": "tag", "tag": "x", "ids": ["abc", "-4", "99999999999"]}, "Tick the rows"),
        ({"action": "tag", "tag": "x" * 61, "ids": ["1"]}, "Nothing was changed"),
    ],
)
def test_bad_bulk_input_is_refused_with_the_reason(assoc, data, message):
    source = data.pop("source", "members")
    response = _bulk(assoc.client, assoc.url, source=source, **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_csrf_is_required(make_app, make, session):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        tenant = make.tenant(slug="assoc-csrf")
        user = make.user(tenant)
        client = client_as(app, user.get_id())
        response = _bulk(client, "/assoc-csrf", action="tag", tag="x", ids=["1"])
    assert response.status_code == 400  # CSRFProtect refuses it before the view runs


def test_export_ticked_rows_and_all_matching(assoc, make):
    firms = [make.org(assoc.tenant, name=f"Firm {n}") for n in range(3)]
    contact_id = make.contact(firms[0], email="ana@firm.example").id
    ticked = _bulk(assoc.client, assoc.url, action="export_csv", ids=[firms[2].id, firms[0].id])
    rows = list(csv.reader(io.StringIO(ticked.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[1] for r in rows[1:]] == ["Firm 0", "Firm 2"]
    people = _bulk(
        assoc.client, assoc.url, source="contacts", action="export_csv", ids=[contact_id]
    )
    assert "ana@firm.example" in people.get_data(as_text=True)
    everyone = _bulk(
        assoc.client, assoc.url, filters="kind=firm", action="export_xlsx", all_matching="y"
    )
    assert everyone.status_code == 302
    assert everyone.headers["Location"].endswith("/members/export.xlsx?kind=firm")


# -- as a background job ------------------------------------------------------------

SLUG = "assoc-bulk"


@pytest.fixture(params=["rq", "in-process"])
def bulk_app(make_app, database_urls, request):
    redis_url = request.getfixturevalue("redis_url") if request.param == "rq" else None
    with jobs_app(make_app, database_urls, redis_url, BULK_INLINE_MAX_ROWS=3) as app:
        yield app


def _seed(app, firms: int):
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug=SLUG)
        orgs = [make.org(tenant, name=f"Bulk Firm {n:03d}") for n in range(firms)]
        for org in orgs[:2]:
            make.membership(org, status="active")
        user = make.user(tenant, role="secretariat")
        seeded = tenant.id, user.get_id(), [o.id for o in orgs]
        db.session.commit()
    return seeded


def work(app) -> None:
    connection = app.extensions["crm.redis"]
    with app.app_context():
        db.session.remove()
        SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
            burst=True
        )


def test_large_bulk_tag_and_status_run_as_jobs(bulk_app):
    app = bulk_app
    tenant_id, identity, ids = _seed(app, 12)
    client = client_as(app, identity)
    started = _bulk(client, f"/{SLUG}", action="tag", tag="Renewal 2027", all_matching="y")
    assert started.status_code == 302 and f"/{SLUG}/bulk/" in started.headers["Location"]
    run_url = started.headers["Location"]
    if "crm.redis" in app.extensions:
        waiting = client.get(run_url).get_data(as_text=True)
        assert "job-progress" in waiting
        assert client.get(run_url + "/status").get_json()["status"] == "queued"
        work(app)
    page = client.get(run_url).get_data(as_text=True)
    assert "Done: 12 of 12 rows changed." in page
    with app.app_context(), tenant_scope(tenant_id):
        assert _tagged(db.session, tenant_id, "Renewal 2027") == set(ids)
        events = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "tag")
        )
        assert events == 12
    status = {"action": "status", "status": "suspended", "effective_on": "2026-12-01"}
    started = _bulk(client, f"/{SLUG}", all_matching="y", reason="Unpaid", **status)
    run_url = started.headers["Location"]
    if "crm.redis" in app.extensions:
        work(app)
    page = client.get(run_url).get_data(as_text=True)
    assert "Done: 12 of 12 rows changed." in page
    with app.app_context(), tenant_scope(tenant_id):
        run = db.session.scalar(
            select(JobRun).where(JobRun.kind == "bulk").order_by(JobRun.id.desc())
        )
        assert (run.status, run.progress, run.result["changed"]) == ("finished", 100, 12)
        suspended = db.session.scalar(
            select(func.count()).where(AssociationMembership.status == "suspended")
        )
        assert suspended == 12
    # Another association's users never see the run.
    with app.app_context():
        make = Factories(db.session)
        stranger = make.user(make.tenant(slug="assoc-other"))
        other_identity = stranger.get_id()
        db.session.commit()
    other = client_as(app, other_identity)
    assert other.get(run_url.replace(SLUG, "assoc-other")).status_code == 404


def test_bulk_tag_statements_do_not_grow_with_rows(assoc, make, count_queries):
    """Set-based: the same statements for 3 rows or 60."""

    def run(ids, tag):
        with count_queries() as counter:
            response = _bulk(assoc.client, assoc.url, action="tag", tag=tag, ids=ids)
        assert response.status_code == 302
        return counter.count

    few = [make.org(assoc.tenant).id for _ in range(3)]
    many = [make.org(assoc.tenant).id for _ in range(60)]
    assert run(few, "Few") == run(many, "Many")
    assert run(many, "Many") <= run(few, "Few")  # nothing new to tag: no audit insert
