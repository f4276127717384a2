"""CORDIS coverage in the figures: the share of members' CORDIS participations recorded
and the SME participation rate from CORDIS, against plain Python over the seed's rows,
per association, per country and alliance-wide; on the pages; moved by a recording."""

from __future__ import annotations

import html

from sqlalchemy import select

from crm.extensions import db
from crm.metrics import jobs
from crm.models import JobRun, Organisation, Tenant
from crm.tenancy import tenant_scope
from tests.factories import PASSWORD, Factories
from tests.metrics.conftest import assert_same, expected, load_rows, stored

COVERAGE = {"cordis_recorded_share", "sme_participation_rate_cordis"}


def _refresh(app, tenant_id: int | None = None) -> int:
    with app.app_context():
        run_id = jobs.start_refresh(tenant_id).id
        db.session.remove()
        with tenant_scope(tenant_id):
            run = db.session.scalar(select(JobRun).where(JobRun.id == run_id))
        assert run.status == "finished", run.error
        return run.result["snapshot_id"]


def _only(values: dict) -> dict:
    return {k: v for k, v in values.items() if k[1] in COVERAGE}


def test_coverage_matches_plain_python_at_every_level(metrics_app, seeded, database_urls):
    app = metrics_app()
    seed = seeded(app)
    owner = database_urls["owner"]
    wanted = _only(expected(load_rows(owner)))
    assert_same(_only(stored(owner, _refresh(app))), wanted)
    # The seed is not trivial: every association has recorded and unrecorded CORDIS
    # participations, and CORDIS's SME flags add SMEs the size classes do not give.
    for tid in seed.tenant_ids:
        _, num, den = wanted[(("tenant", tid), "cordis_recorded_share", "", "")]
        assert 0 < num < den, (tid, num, den)
    for scope in (("total",), ("country", "FR"), ("country", "PL")):
        assert (scope, "cordis_recorded_share", "", "") in wanted
        assert (scope, "sme_participation_rate_cordis", "", "") in wanted
    rows = load_rows(owner)
    external = {o["pic"] for o in rows["organisations"] if o["is_external"]}
    assert external & {r["pic"] for r in rows["cordis_participants"]}  # a trap, not counted
    assert rows["cordis_dismissals"]


def test_recording_a_participation_moves_the_association_figure(metrics_app, seeded, database_urls):
    app = metrics_app()
    seed = seeded(app)
    tid = seed.tenant_ids[2]
    owner = database_urls["owner"]
    key = (("tenant", tid), "cordis_recorded_share", "", "")
    before = stored(owner, _refresh(app))[key]
    rows = load_rows(owner)
    recorded = {
        (pa["organisation_id"], p["grant_key"])
        for pa in rows["participations"]
        for p in rows["projects"]
        if p["id"] == pa["project_id"] and p["grant_key"]
    }
    dismissed = {(d["organisation_id"], d["grant_key"]) for d in rows["cordis_dismissals"]}
    org, grant = next(
        (o["id"], r["grant_key"])
        for o in rows["organisations"]
        if o["tenant_id"] == tid and o["pic"] and not o["is_external"] and not o["archived"]
        for r in rows["cordis_participants"]
        if r["pic"] == o["pic"]
        and (o["id"], r["grant_key"]) not in recorded | dismissed
        and o["id"] in {m["organisation_id"] for m in rows["association_memberships"]
                        if m["status"] == "active"}
    )  # fmt: skip
    with app.app_context(), tenant_scope(tid):
        make = Factories(db.session)
        tenant = db.session.get(Tenant, tid)
        project = make.project(tenant, programme="HE", status="running", grant_number=grant)
        make.participation(project, db.session.get(Organisation, org))
        db.session.commit()
    after = stored(owner, _refresh(app, tid))[key]
    assert (after[1], after[2]) == (before[1] + 1, before[2])


def _sign_in(app, email: str):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def test_the_pages_show_coverage_beside_the_self_reported_rate(metrics_app, seeded):
    app = metrics_app()
    seed = seeded(app)
    with app.app_context():
        make = Factories(db.session)
        office = make.user(None, role="alliance_admin").email
        tenant = db.session.get(Tenant, seed.tenant_ids[0])
        secretariat = make.user(tenant, role="secretariat").email
        slug = tenant.slug
        db.session.commit()
    _refresh(app)
    admin = _sign_in(app, office)
    for path in ("/alliance/", "/alliance/countries"):
        page = html.unescape(admin.get(path).get_data(as_text=True))
        assert "SME participation rate from CORDIS" in page, path
        assert "SME participation rate" in page and "CORDIS participations recorded" in page
    figures = html.unescape(
        _sign_in(app, secretariat).get(f"/{slug}/figures").get_data(as_text=True)
    )
    assert "Members' CORDIS participations recorded" in figures
    assert "SME participation rate from CORDIS" in figures
    csv_text = admin.get("/alliance/countries.csv").get_data(as_text=True)
    assert "SME participation rate from CORDIS" in csv_text
