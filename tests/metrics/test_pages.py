"""The alliance office's pages and a tenant's figures: in-process refresh, suppression,
who may see and refresh what, bad input, bounded queries."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from crm.extensions import db
from crm.metrics import jobs, snapshots
from crm.metrics.definitions import METRICS
from crm.models import JobRun, MetricSnapshot, MetricValue, Tenant
from crm.tenancy import tenant_scope
from tests.factories import PASSWORD, Factories
from tests.metrics.conftest import assert_same, expected, load_rows, stored

SMALL = {"1", "2", "3", "4"}
COUNT_CELL = re.compile(r'data-unit="count"[^>]*>([^<]*)<')
CHART_DATA = re.compile(r'<script type="application/json"[^>]*>(.*?)</script>', re.S)


def _sign_in(app, user_email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": user_email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def refreshed(metrics_app, seeded, database_urls):
    """Seeded data, users, and one alliance refresh run in-process (no Redis)."""
    app = metrics_app()  # REDIS_URL is None: the embedded, in-process mode
    seed = seeded(app)
    with app.app_context():
        make = Factories(db.session)
        emails = {"alliance_admin": make.user(None, role="alliance_admin").email}
        emails["alliance_analyst"] = make.user(None, role="alliance_analyst").email
        for tid, prefix in zip(seed.tenant_ids, ("a", "b", "c"), strict=True):
            tenant = db.session.get(Tenant, tid)
            for role in ("tenant_admin", "secretariat", "cluster_manager"):
                cluster = make.cluster(tenant) if role == "cluster_manager" else None
                emails[f"{prefix}_{role}"] = make.user(tenant, role=role, cluster=cluster).email
        db.session.commit()
    admin = _sign_in(app, emails["alliance_admin"])
    response = admin.post("/alliance/refresh")
    assert response.status_code == 302
    return app, seed, emails, admin


def test_in_process_refresh_without_redis(refreshed, database_urls):
    app, seed, _, admin = refreshed
    with app.app_context():
        run = db.session.scalar(select(JobRun).where(JobRun.kind == jobs.ALLIANCE_KIND))
        assert run.status == "finished" and run.rq_job_id is None
        snapshot = snapshots.latest_snapshot(None)
        assert snapshot.job_run_id == run.id
    assert_same(
        stored(database_urls["owner"], snapshot.id), expected(load_rows(database_urls["owner"]))
    )
    page = admin.get("/alliance/").get_data(as_text=True)
    assert "Figures as of" in page and "finished" in page
    status = admin.get("/alliance/status.json").get_json()
    assert status["status"] == "finished" and status["progress"] == 100
    assert status["snapshot_age_seconds"] is not None


def _text(response) -> io.StringIO:
    return io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))


def _count_metrics() -> set[str]:
    return {m.title for m in METRICS if m.unit == "count"}


def test_alliance_office_never_sees_a_count_from_1_to_4(refreshed, database_urls):
    app, _, _, admin = refreshed
    with app.app_context():
        snapshot = snapshots.latest_snapshot(None)
        small = db.session.scalar(
            select(func.count()).where(
                MetricValue.snapshot_id == snapshot.id, MetricValue.n.between(1, 4)
            )
        )
    assert small > 0, "the seed must have small cells, or this test proves nothing"
    shown = 0
    for path in ("/alliance/", "/alliance/countries"):
        page = admin.get(path).get_data(as_text=True)
        cells = [c.strip() for c in COUNT_CELL.findall(page)]
        assert cells and not SMALL & set(cells), path
        assert "&lt;5" in page
        shown += len(cells)
        for block in CHART_DATA.findall(page):
            spec = json.loads(block)
            if spec["unit"] == "count":
                for dataset in spec["datasets"]:
                    assert not [v for v in dataset["data"] if v is not None and 1 <= v <= 4]
    assert shown > 50
    downloads = [f"/alliance/figures/{m.key}.csv" for m in METRICS if m.unit == "count"]
    for path in downloads:
        rows = list(
            csv.reader(io.StringIO(admin.get(path).get_data(as_text=True).lstrip("\ufeff")))
        )
        assert rows[0][-1] == "Count"
        assert not SMALL & {r[-1] for r in rows[1:]}, path
    rows = list(
        csv.DictReader(
            io.StringIO(
                admin.get("/alliance/countries.csv").get_data(as_text=True).lstrip("\ufeff")
            )
        )
    )
    for row in rows:
        for title in _count_metrics() & set(row):
            assert row[title] not in SMALL, (row["Country"], title)
    trend = admin.get("/alliance/trends.csv").get_data(as_text=True)
    assert "<5" in trend or "Members" in trend


def test_tenant_admin_sees_own_figures_unsuppressed_beside_the_alliance(refreshed):
    app, seed, emails, _ = refreshed
    client = _sign_in(app, emails["a_tenant_admin"])
    page = client.get("/m-fr-a/figures").get_data(as_text=True)
    alliance_cells = re.findall(r'data-audience="alliance"[^>]*>([^<]*)<', page)
    with app.app_context(), tenant_scope(seed.tenant_ids[0]):
        own = snapshots.latest_snapshot(seed.tenant_ids[0])
        small = db.session.scalar(
            select(func.count()).where(
                MetricValue.snapshot_id == own.id, MetricValue.n.between(1, 4)
            )
        )
    assert small > 0
    # Own small counts are shown as they are; the alliance's never.
    count_rows = re.findall(
        r'<td class="num">(\d+)</td>\s*<td class="num" data-unit="count" data-audience="alliance">',
        page,
    )
    assert SMALL & set(count_rows)
    assert alliance_cells and not SMALL & {c.strip() for c in alliance_cells}
    csv_text = client.get("/m-fr-a/figures/members_by_kind.csv").get_data(as_text=True)
    assert "Kind" in csv_text


def test_tenant_admin_refreshes_only_their_own_tenant(refreshed):
    app, seed, emails, _ = refreshed
    client = _sign_in(app, emails["a_tenant_admin"])
    assert client.post("/m-fr-a/figures/refresh").status_code == 302
    assert client.post("/m-fr-b/figures/refresh").status_code == 404
    assert client.post("/alliance/refresh").status_code == 404
    with app.app_context(), tenant_scope(seed.tenant_ids[0]):
        runs = db.session.scalars(select(JobRun).where(JobRun.kind == jobs.TENANT_KIND)).all()
        assert [(r.tenant_id, r.status) for r in runs] == [(seed.tenant_ids[0], "finished")]
        own = snapshots.latest_snapshot(seed.tenant_ids[0])
        assert own.job_run_id == runs[0].id
    with app.app_context(), tenant_scope(seed.tenant_ids[1]):
        others = select(JobRun).where(
            JobRun.kind == jobs.TENANT_KIND, JobRun.tenant_id == seed.tenant_ids[1]
        )
        assert not db.session.scalars(others).all()
    status = client.get("/m-fr-a/figures/status.json").get_json()
    assert status["status"] == "finished"


ALLIANCE_PATHS = [
    ("GET", "/alliance/"),
    ("GET", "/alliance/countries"),
    ("GET", "/alliance/countries.csv"),
    ("GET", "/alliance/trends.csv"),
    ("GET", "/alliance/status.json"),
    ("GET", "/alliance/figures/members.csv"),
    ("POST", "/alliance/refresh"),
]


def test_tenant_users_cannot_reach_the_alliance_office(refreshed):
    app, _, emails, _ = refreshed
    with app.app_context():
        before = db.session.scalar(select(func.count(JobRun.id)))
    for role in ("tenant_admin", "secretariat", "cluster_manager"):
        client = _sign_in(app, emails[f"a_{role}"])
        for method, path in ALLIANCE_PATHS:
            assert client.open(path, method=method).status_code == 404, (role, path)
    anonymous = app.test_client()
    for method, path in ALLIANCE_PATHS:
        response = anonymous.open(path, method=method)
        assert response.status_code == 302 and "/login" in response.location
    with app.app_context():
        assert db.session.scalar(select(func.count(JobRun.id))) == before


def test_roles_on_tenant_figures(refreshed):
    app, _, emails, _ = refreshed
    secretariat = _sign_in(app, emails["a_secretariat"])
    assert secretariat.get("/m-fr-a/figures").status_code == 200
    assert secretariat.post("/m-fr-a/figures/refresh").status_code == 404
    manager = _sign_in(app, emails["a_cluster_manager"])
    for path in ("/m-fr-a/figures", "/m-fr-a/figures/status.json", "/m-fr-a/figures/members.csv"):
        assert manager.get(path).status_code == 404
    assert manager.post("/m-fr-a/figures/refresh").status_code == 404
    analyst = _sign_in(app, emails["alliance_analyst"])
    assert analyst.get("/alliance/").status_code == 200
    assert analyst.get("/m-fr-a/figures").status_code == 404  # no drill-down into a tenant
    other = _sign_in(app, emails["b_tenant_admin"])
    assert other.get("/m-fr-a/figures").status_code == 404
    assert other.get("/m-fr-a/figures/members.csv").status_code == 404


def test_bad_input_answers_404_never_500(refreshed):
    app, _, emails, admin = refreshed
    for path in (
        "/alliance/figures/nope.csv",
        "/alliance/figures/..%2Fx.csv",
        "/alliance/figures/.csv",
    ):
        assert admin.get(path).status_code == 404
    client = _sign_in(app, emails["a_tenant_admin"])
    assert client.get("/m-fr-a/figures/nope.csv").status_code == 404
    assert client.get("/m-fr-a/figures/refresh").status_code == 405
    assert admin.get("/alliance/refresh").status_code == 405


# ------------------------------------------------------ without any refresh (rolled back)


def test_pages_before_the_first_refresh(app, make, signed_in):
    tenant = make.tenant()
    admin = signed_in(make.user(None, role="alliance_admin"))
    for path in (
        "/alliance/",
        "/alliance/countries",
        "/alliance/countries.csv",
        "/alliance/trends.csv",
    ):
        assert admin.get(path).status_code == 200, path
    assert admin.get("/alliance/status.json").get_json()["status"] == "none"
    assert admin.get("/alliance/figures/members.csv").status_code == 200
    tenant_admin = signed_in(make.user(tenant, role="tenant_admin"))
    page = tenant_admin.get(f"/{tenant.slug}/figures")
    assert page.status_code == 200 and "No figures yet" in page.get_data(as_text=True)


def _fake_snapshot(session, cells: int) -> None:
    snapshot = MetricSnapshot(tenant_id=None, complete=True)
    session.add(snapshot)
    session.flush()
    rows = []
    for metric in METRICS:
        for i in range(cells):
            rows.append(
                MetricValue(
                    snapshot_id=snapshot.id,
                    metric=metric.key,
                    level="total",
                    country="",
                    d1="" if metric.d1 == "" else f"v{i}",
                    d2="" if metric.d2 == "" else "funded",
                    value=Decimal("0.5") if metric.unit == "ratio" else Decimal(i * 3),
                    n=i * 3,
                    base=10 if metric.unit == "ratio" else None,
                )
            )
            if metric.d1 == "":
                break
    session.add_all(rows)
    session.flush()


@pytest.mark.parametrize("cells", [3, 30])
def test_dashboard_queries_are_bounded(app, make, session, signed_in, count_queries, cells):
    admin = signed_in(make.user(None, role="alliance_admin"))
    _fake_snapshot(session, cells)
    with count_queries() as q:
        response = admin.get("/alliance/")
    assert response.status_code == 200
    assert q.count <= 8, q.statements


def test_dashboard_figures_are_read_and_rendered_once_per_snapshot(
    app, make, session, signed_in, count_queries
):
    """A stored snapshot never changes: its figures are rendered once per process, and
    the next snapshot's are rendered again."""
    admin = signed_in(make.user(None, role="alliance_admin"))
    _fake_snapshot(session, 3)

    def figures():  # the page less its CSRF tokens and the snapshot's age (they carry the time)
        page = admin.get("/alliance/").get_data(as_text=True)
        return re.sub(r'value="[^"]*"|data-age="[^<]*', "", page)

    with count_queries() as first:
        page = figures()
    with count_queries() as again:
        assert figures() == page
    assert again.count == first.count - 3, again.statements  # no cells, trends or labels read
    assert not any("metric_values" in s for s in again.statements)
    _fake_snapshot(session, 30)  # a newer snapshot: its own figures
    newer = figures()
    assert newer != page and "v29" in newer and "v29" not in page


@pytest.mark.parametrize(
    ("language", "value", "shown"),
    [
        ("en", Decimal("1060736083"), "€1.06B"),
        ("en", Decimal("12345678"), "€12.3M"),
        ("pl", Decimal("1060736083"), "1,06\xa0mld\xa0€"),
        ("es", Decimal("12345678"), "12,3\xa0M\xa0€"),
        ("en", Decimal("999999"), "full"),
        ("en", None, "full"),
    ],
)
def test_headline_tiles_shorten_large_sums_of_euros(app, language, value, shown):
    with app.test_request_context(), force_locale(language):
        cell = snapshots.Cell("eu_contribution", "", "", value, "full", value is None)
        assert cell.headline == shown
    count = snapshots.Cell("members", "", "", Decimal("2000000"), "2,000,000", False)
    assert count.headline == "2,000,000"


def test_refresh_button_only_for_the_tenant_admin(app, make, signed_in):
    """The template gets ``can_refresh`` from the view, not a role name of its own."""
    tenant = make.tenant()
    admin = signed_in(make.user(tenant, role="tenant_admin"))
    secretariat = signed_in(make.user(tenant, role="secretariat"))
    refresh = f'action="/{tenant.slug}/figures/refresh"'
    assert refresh in admin.get(f"/{tenant.slug}/figures").get_data(as_text=True)
    assert refresh not in secretariat.get(f"/{tenant.slug}/figures").get_data(as_text=True)


def test_dashboard_figures_are_rendered_per_language(app, make, session, signed_in):
    """The figures kept per snapshot are kept per language too: a Polish reader
    never gets the English rendering (nor the other way round)."""
    english = signed_in(make.user(None, role="alliance_admin"))
    polish = signed_in(make.user(None, role="alliance_analyst", language="pl"))
    _fake_snapshot(session, 3)
    first = english.get("/alliance/").get_data(as_text=True)
    assert "50.0%" in first and "50,0%" not in first
    page = polish.get("/alliance/").get_data(as_text=True)
    assert "50,0%" in page and "50.0%" not in page
    assert "50.0%" in english.get("/alliance/").get_data(as_text=True)
