"""Disclosure control: the four recoveries of issue 12 tried as an analyst would, a
recovery search over every alliance-visible table, and shares rounded once."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import openpyxl
import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.metrics import disclosure, jobs, snapshots
from crm.metrics.definitions import BY_KEY, COUNTRY_COMPARISON, METRICS
from crm.metrics.sql import COUNTRY
from crm.models import MetricValue, Tenant
from crm.tenancy import tenant_scope
from tests.factories import PASSWORD, Factories
from tests.metrics import recovery
from tests.metrics.conftest import seed

# ------------------------------------------------------------------ the method itself


def test_counts_round_to_base_5_halves_up():
    assert [disclosure.round_count(n) for n in (0, 5, 6, 7, 8, 9, 10, 12, 13, 1002)] == [
        0, 5, 5, 5, 10, 10, 10, 10, 15, 1000,
    ]  # fmt: skip


def test_a_share_is_the_exact_fraction_rounded_once_half_up():
    assert disclosure.percent(5041, 7045) == Decimal("71.6")  # 71.554...: not 71.5
    assert disclosure.percent(1, 16) == Decimal("6.3")  # 6.25: float rounding gives 6.2
    assert disclosure.percent(5, 16) == Decimal("31.3")  # 31.25: float rounding gives 31.2
    assert disclosure.percent(0, 9) == Decimal("0.0")
    assert disclosure.percent(9, 9) == Decimal("100.0")
    rng = random.Random(12)
    for _ in range(5000):
        den = rng.randint(1, 20_000)
        num = rng.randint(0, den)
        exact = Decimal(Fraction(num * 100, den).numerator) / Decimal(
            Fraction(num * 100, den).denominator
        )
        # Decimal division to 28 digits, then one rounding: the same as exact for
        # these sizes (a tie is exact in 28 digits).
        assert disclosure.percent(num, den) == exact.quantize(Decimal("0.1"), ROUND_HALF_UP)


def test_sum_base_keeps_three_figures_and_hides_the_largest_suppressed_sum():
    assert disclosure.sum_base(Decimal(8123), None) == 10
    assert disclosure.sum_base(Decimal(8123), Decimal(42)) == 1000  # 4 x 42 = 168
    assert disclosure.sum_base(Decimal(99), Decimal(25)) == 100  # exactly 4 x 25
    assert disclosure.sum_base(None, None) == 1
    assert disclosure.round_to(Decimal(8123), Decimal(1000)) == 8000
    assert disclosure.round_to(Decimal(8500), Decimal(1000)) == 9000


# ------------------------------------------------------------------ fixtures


def _sign_in(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _refresh(app) -> None:
    with app.app_context():
        run = jobs.start_refresh(None)
        assert run.status == "finished", run.error
        db.session.remove()


def _csv(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200, path
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _office_csvs(client) -> dict[str, list[dict]]:
    out = {"countries": _csv(client, "/alliance/countries.csv")}
    for m in METRICS:
        out[m.key] = _csv(client, f"/alliance/figures/{m.key}.csv")
    return out


LAPSED_Q2 = date(2024, 5, 2)


def _members(make, tenant, count, **fields):
    orgs = []
    for i in range(count):
        org = make.org(tenant, employees=10 + i, turnover_eur=1_000_000, **fields)
        make.membership(org)
        orgs.append(org)
    return orgs


@pytest.fixture
def attack(metrics_app):
    """Issue 12's four recoveries as data: one member in Germany (region DE21) among
    French and Polish ones; lapses in 2024-Q2 of 2 (France) and 3 (Poland); then, between
    two snapshots, a new Estonian association with two SME firms (42 employees)."""
    app = metrics_app()
    with app.app_context():
        make = Factories(db.session)
        fr = make.tenant(slug="d-fr", country="FR")
        pl = make.tenant(slug="d-pl", country="PL")
        with tenant_scope(fr.id):
            _members(make, fr, 14, nuts2="FR10")
            _members(make, fr, 13, nuts2="FR21")
            _members(make, fr, 1, country="DE", nuts2="DE21")
            for _ in range(2):
                make.membership(make.org(fr), status="lapsed", left_on=LAPSED_Q2)
        with tenant_scope(pl.id):
            _members(make, pl, 19, nuts2="PL21")
            for _ in range(3):
                make.membership(make.org(pl), status="left", left_on=LAPSED_Q2)
        emails = {"office": make.user(None, role="alliance_admin").email}
        emails["fr"] = make.user(fr, role="tenant_admin").email
        db.session.commit()
    office = _sign_in(app, emails["office"])
    _refresh(app)
    before = _office_csvs(office)
    with app.app_context():
        make = Factories(db.session)
        ee = make.tenant(slug="d-ee", country="EE")
        with tenant_scope(ee.id):
            make.membership(make.org(ee, employees=20, turnover_eur=1_000_000))
            make.membership(make.org(ee, employees=22, turnover_eur=1_000_000))
        db.session.commit()
    _refresh(app)
    after = _office_csvs(office)
    return app, office, _sign_in(app, emails["fr"]), before, after


def _value(rows: list[dict], column: str, **where) -> str:
    row = next(r for r in rows if all(r[k] == v for k, v in where.items()))
    return row[column]


def _ranges(values: dict) -> dict:
    """Published strings -> ranges of true values; keys (scope, metric, d1, d2)."""
    return {
        key: recovery.published_range(recovery.unit(key), text, Decimal(1))
        for key, text in values.items()
    }


# ------------------------------------------------------------------ the four recoveries


def test_a_small_country_and_a_small_region_cannot_be_subtracted_out(attack):
    """Total minus the visible countries (regions) used to give DE = 1 (DE21 = 1)."""
    _, _, _, before, after = attack
    for published, metric, column, small in (
        (before, "members_by_country", "Country", "DE"),
        (before, "members_by_region", "NUTS-2 region", "DE21"),
        (after, "members_by_country", "Country", "DE"),
        (after, "members_by_region", "NUTS-2 region", "DE21"),
    ):
        total = _value(published["members"], "Count")
        shown = {("total", metric, r[column], ""): r["Count"] for r in published[metric]}
        assert shown[("total", metric, small, "")] == "<5"
        shown[("total", "members", "", "")] = total
        ranges = _ranges(shown)
        found = recovery.candidates(
            ranges, recovery.equations(ranges), ("total", metric, small, "")
        )
        assert 1 in found and len(found) >= 2, (metric, found)


def test_a_new_small_association_cannot_be_subtracted_out_of_the_country_comparison(attack):
    """Alliance total minus the visible countries used to give Estonia's 2 members, 42
    employees."""
    _, _, _, _, after = attack
    estonia = next(r for r in after["countries"] if r["Country"] == "EE")
    assert estonia["Members"] == "<5" and estonia["Employees in member firms"] == "<5"
    for key, title, csv_name, true in (
        ("members", "Members", "Count", 2),
        ("employees", "Employees in member firms", "Total", 42),
    ):
        shown = {(r["Country"], key, "", ""): r[title] for r in after["countries"]}
        shown[("total", key, "", "")] = _value(after[key], csv_name)
        base = _sum_base(attack[0], key)
        ranges = {k: recovery.published_range(recovery.unit(k), v, base) for k, v in shown.items()}
        eqs = recovery.equations(ranges)
        if key == "members":
            found = recovery.candidates(ranges, eqs, ("EE", key, "", ""))
            assert true in found and len(found) >= 2, found
        else:
            lo, hi = recovery.propagate(ranges, eqs)[("EE", key, "", "")]
            assert lo <= true <= hi and hi - lo >= 2 * true, (lo, hi)


def _sum_base(app, key: str) -> Decimal:
    """The analyst is assumed to know the rounding base (it is documented how it is made)."""
    with app.app_context():
        snapshot = snapshots.latest_snapshot(None)
        return db.session.scalar(
            select(MetricValue.value).where(
                MetricValue.snapshot_id == snapshot.id,
                MetricValue.metric == key,
                MetricValue.level == snapshots.ROUNDING,
            )
        )


def _step_range(before: str, after: str) -> tuple[Decimal, Decimal]:
    lo1, hi1 = recovery.published_range("count", before, None)
    lo2, hi2 = recovery.published_range("count", after, None)
    return lo2 - hi1, hi2 - lo1


def test_two_snapshots_do_not_isolate_a_two_firm_change(attack):
    """Members, firms and small firms each +2 between snapshots used to say that the
    two new (Estonian) firms are both SMEs, neither in a funded project."""
    app, office, _, before, after = attack
    steps = {
        "members": _step_range(
            _value(before["members"], "Count"), _value(after["members"], "Count")
        ),
        "firms": _step_range(
            _value(before["members_by_kind"], "Count", Kind="Firm"),
            _value(after["members_by_kind"], "Count", Kind="Firm"),
        ),
        "small firms": _step_range(
            _value(before["members_by_size_class"], "Count", **{"Size class": "Small"}),
            _value(after["members_by_size_class"], "Count", **{"Size class": "Small"}),
        ),
    }
    for name, (lo, hi) in steps.items():
        assert lo <= 2 <= hi and hi - lo >= 4, (name, lo, hi)  # 2 is one of five or more
    # The trend lines and their download step only by multiples of 5 (or to/from "<5").
    trend = _csv(office, "/alliance/trends.csv")
    members = [r["Value"] for r in trend if r["Metric"] == "Members"]
    assert len(members) == 2
    assert all(v == "<5" or int(v) % 5 == 0 for v in members)
    for title in ("SME share of member firms", "SME participation rate"):
        assert _value(after["countries"], title, Country="EE") == "<5"


def test_an_association_page_never_isolates_fewer_than_5_others(attack):
    """The alliance's 5 lapses in 2024-Q2 beside the French association's own 2 used to
    tell it the others' exact 3."""
    app, _, fr_admin, _, _ = attack
    page = fr_admin.get("/d-fr/figures").get_data(as_text=True)
    section = page[page.index('id="lapses_by_quarter"') :]
    row = re.search(r"<td>2024-Q2</td>\s*<td class=\"num\">(\d+)</td>\s*<td[^>]*>([^<]*)<", section)
    assert row.groups() == ("2", snapshots.HIDDEN_BESIDE.replace("<", "&lt;"))
    # The same holds for every cell of the page (the search below, from its own view).
    with app.app_context():
        fr = db.session.scalar(select(Tenant.id).where(Tenant.slug == "d-fr"))
    assert _check_association_view(app, fr) >= 1


def test_every_alliance_figure_says_which_associations_it_is_based_on(attack):
    app, office, fr_admin, _, _ = attack
    page = office.get("/alliance/").get_data(as_text=True)
    with app.app_context():
        estonia = db.session.scalar(select(Tenant.name).where(Tenant.slug == "d-ee"))
    today = date.today().isoformat()
    assert f"based on 3 of 3 associations; data last updated {today}" in page  # members
    # No Estonian lapses (nor projects): the office is told whose records are missing.
    lapses = page[page.index('id="lapses_by_quarter"') :]
    assert f"based on 2 of 3 associations; data last updated {today}; nothing from " in lapses
    assert f"{estonia} (EE)" in lapses[: lapses.index("</p>", lapses.index("based on"))]
    coverage = page[page.index('id="coverage"') :]
    assert coverage.count("<tr><td>") == 3 and f"<td>{today}</td>" in coverage
    countries = office.get("/alliance/countries").get_data(as_text=True)
    assert countries.count("based on ") == len(COUNTRY_COMPARISON)
    own = fr_admin.get("/d-fr/figures").get_data(as_text=True)
    assert own.count("Alliance: based on ") == len(METRICS)
    assert estonia not in own  # an association is not told who else records what


# ------------------------------------------------------------------ the search, everywhere


def _truth(snapshot_id: int, tenant_id: int | None = None) -> dict:
    """Stored (unrounded) cells: key -> (value, n)."""
    query = select(MetricValue).where(
        MetricValue.snapshot_id == snapshot_id, MetricValue.level.in_(("total", COUNTRY))
    )
    out = {}
    for v in db.session.scalars(query):
        scope = v.country if v.level == COUNTRY else "total"
        out[(scope, v.metric, v.d1, v.d2)] = (Decimal(str(v.value)), v.n)
    return out


def _published(snapshot, beside=None) -> dict:
    """What the alliance office (or, with ``beside``, an association) is shown."""
    out = {}
    for key, cells in snapshots.read_cells(snapshot, suppress=True, beside=beside).items():
        for c in cells:
            out[("total", key, c.d1, c.d2)] = c.display
    if beside is None:
        country = snapshots.read_cells(
            snapshot, suppress=True, level=COUNTRY, metrics=COUNTRY_COMPARISON
        )
        for key, cells in country.items():
            for c in cells:
                if c.d2 == "":
                    out[(c.d1, key, "", "")] = c.display
    return {k: v for k, v in out.items() if BY_KEY[k[1]].unit != "ratio"}


def _bases(snapshot_id: int) -> dict[str, Decimal]:
    rows = db.session.execute(
        select(MetricValue.metric, MetricValue.value).where(
            MetricValue.snapshot_id == snapshot_id, MetricValue.level == snapshots.ROUNDING
        )
    )
    return {metric: Decimal(str(value)) for metric, value in rows}


def _measure(key, value_n) -> Decimal:
    """The true quantity a published cell stands for: records (counts), amount (sums)."""
    value, n = value_n
    return Decimal(n) if recovery.unit(key) == "count" else value


def _assert_unrecoverable(ranges: dict, true: dict, small: list) -> int:
    """Every true value is admitted; each small cell stays ambiguous. Returns how many
    small cells were searched."""
    eqs = recovery.equations(ranges)
    solved = recovery.propagate(ranges, eqs)
    for key, (lo, hi) in solved.items():
        assert lo <= true[key] <= hi, (key, lo, hi, true[key])
    for key in small:
        if recovery.unit(key) == "count":
            found = recovery.candidates(ranges, eqs, key)
            assert int(true[key]) in found and len(found) >= 2, (key, found)
        else:
            lo, hi = solved[key]
            assert hi - lo >= true[key], (key, lo, hi, true[key])
    return len(small)


def _check_office_view(app) -> int:
    with app.app_context():
        snapshot = snapshots.latest_snapshot(None)
        shown, truth, bases = _published(snapshot), _truth(snapshot.id), _bases(snapshot.id)
        ranges = {
            k: recovery.published_range(recovery.unit(k), v, bases.get(k[1]))
            for k, v in shown.items()
        }
        true = {k: _measure(k, truth[k]) for k in shown}
        small = [k for k, v in shown.items() if v == disclosure.SUPPRESSED]
        assert all(disclosure.is_small(truth[k][1]) for k in small)
        counts = [v for k, v in shown.items() if recovery.unit(k) == "count" and k not in small]
        assert counts and all(recovery.parse(v) % 5 == 0 for v in counts)
        return _assert_unrecoverable(ranges, true, small)


def _check_association_view(app, tenant_id: int) -> int:
    """An association's page: its own exact figures beside the alliance's. The unknowns
    are the other associations' parts of each alliance cell."""
    with app.app_context(), tenant_scope(tenant_id):
        alliance = snapshots.latest_snapshot(None)
        own_snapshot = snapshots.tenant_snapshot_of(alliance, tenant_id)
        own_cells = snapshots.read_cells(own_snapshot, suppress=False)
        own = {("total", c.metric, c.d1, c.d2): c for cells in own_cells.values() for c in cells}
        shown = _published(alliance, beside=own_cells)
        truth, bases = _truth(alliance.id), _bases(alliance.id)
    ranges, true, small = {}, {}, []
    for key, text in shown.items():
        mine = own.get(key)
        own_measure = _measure(key, (mine.value, mine.n)) if mine else Decimal(0)
        others = _measure(key, truth[key]) - own_measure
        others_n = truth[key][1] - (mine.n if mine else 0)
        if text == snapshots.HIDDEN_BESIDE:
            ranges[key] = (
                (Decimal(1), Decimal(4))
                if recovery.unit(key) == "count"
                else (Decimal(0), recovery.INF)
            )
        else:
            lo, hi = recovery.published_range(recovery.unit(key), text, bases.get(key[1]))
            ranges[key] = (max(Decimal(0), lo - own_measure), hi - own_measure)
        true[key] = others
        if disclosure.is_small(others_n):
            small.append(key)
    return _assert_unrecoverable(ranges, true, small)


def test_no_suppressed_cell_is_recoverable_from_anything_the_office_or_an_association_sees(
    metrics_app, seeded
):
    """The seeded alliance (three associations, two countries): every suppressed cell of
    every alliance-visible table, searched from the office's view and from each
    association's page; then a second snapshot after a two-member change, differenced."""
    app = metrics_app()
    ids = seeded(app).tenant_ids
    _refresh(app)
    searched = _check_office_view(app)
    for tenant_id in ids:
        searched += _check_association_view(app, tenant_id)
    assert searched > 20, "the seed must have small cells, or this test proves nothing"
    with app.app_context():
        first = _published(snapshots.latest_snapshot(None))
        make = Factories(db.session)
        tenant = db.session.get(Tenant, ids[2])
        with tenant_scope(tenant.id):
            for employees in (20, 22):
                make.membership(make.org(tenant, employees=employees, turnover_eur=10**6))
        db.session.commit()
    _refresh(app)
    _check_office_view(app)
    with app.app_context():
        second = _published(snapshots.latest_snapshot(None))
    for key in set(first) & set(second):
        if recovery.unit(key) == "count":
            lo, hi = _step_range(first[key], second[key])
            assert not (lo == hi and 1 <= abs(lo) <= 4), (key, first[key], second[key])


def test_a_fresh_seed_is_as_safe(metrics_app, database_urls):
    """Another seed of the same shape (other small cells, other margins)."""
    app = metrics_app()
    with app.app_context():
        seed(db.session, rng_seed=21)
        db.session.commit()
        ids = db.session.scalars(select(Tenant.id)).all()
        db.session.remove()
    _refresh(app)
    assert _check_office_view(app) > 0
    for tenant_id in ids:
        _check_association_view(app, tenant_id)


# ------------------------------------------------------------------ shares rounded once


def _xlsx(client, path: str) -> list[list]:
    response = client.get(path)
    assert response.status_code == 200, path
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def _number(text: str):
    """A CSV cell as the workbook holds it: numbers as numbers, "<5" as text."""
    return text if text == disclosure.SUPPRESSED else float(text)


def test_xlsx_downloads_carry_what_the_csv_downloads_carry(attack):
    _, office, fr_admin, _, after = attack
    for metric in ("members_by_country", "employees", "lapses_by_quarter"):
        sheet = _xlsx(office, f"/alliance/figures/{metric}.xlsx")
        assert [r[-1] for r in sheet[1:]] == [_number(list(r.values())[-1]) for r in after[metric]]
    sheet = _xlsx(office, "/alliance/countries.xlsx")
    estonia = next(r for r in sheet if r[0] == "EE")
    assert estonia[1] == "<5"  # Members
    trend = _xlsx(office, "/alliance/trends.xlsx")
    assert trend[0] == ["Snapshot", "Metric", "Value"] and len(trend) > 2
    own = _xlsx(fr_admin, "/d-fr/figures/lapses_by_quarter.xlsx")
    assert ["2024-Q2", 2] in own  # its own figure, exact
    # Each page links both downloads.
    pages = {
        "/d-fr/figures": "/d-fr/figures/lapses_by_quarter",
        "/alliance/": "/alliance/figures/lapses_by_quarter",
        "/alliance/countries": "/alliance/countries",
    }
    for path, link in pages.items():
        client = fr_admin if path.startswith("/d-fr") else office
        body = client.get(path).get_data(as_text=True)
        assert f'href="{link}.csv"' in body and f'href="{link}.xlsx"' in body, path


def _chart_values(page: str) -> dict[str, dict[str, float]]:
    out = {}
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S):
        spec = json.loads(block)
        if spec["unit"] == "ratio" and not spec.get("stacked"):
            data = spec["datasets"][0]
            out[data["label"]] = dict(zip(spec["labels"], data["data"], strict=True))
    return out


def test_every_share_is_the_exact_fraction_rounded_once_on_pages_charts_and_csv(
    metrics_app, seeded
):
    app = metrics_app()
    ids = seeded(app).tenant_ids
    with app.app_context():
        make = Factories(db.session)
        office_email = make.user(None, role="alliance_admin").email
        tenant = db.session.get(Tenant, ids[0])
        admin_email = make.user(tenant, role="tenant_admin").email
        with tenant_scope(tenant.id):  # a 5-in-16 success rate (31.25 %) of its own
            for status in ["funded"] * 5 + ["rejected"] * 11:
                make.project(tenant, programme="SMP", status=status)
        db.session.commit()
    _refresh(app)
    office = _sign_in(app, office_email)
    own = _sign_in(app, admin_email)
    with app.app_context():
        alliance = snapshots.latest_snapshot(None)
        rows = db.session.execute(
            select(MetricValue).where(
                MetricValue.snapshot_id == alliance.id, MetricValue.level == "total"
            )
        ).scalars()
        wanted = {}
        for v in rows:
            if BY_KEY[v.metric].unit == "ratio" and not disclosure.is_small(v.n, v.base):
                num, den = disclosure.round_count(v.n), disclosure.round_count(v.base)
                wanted[(v.metric, v.d1)] = disclosure.percent(num, den)
    assert len(wanted) >= 5
    checked = 0
    dashboard = office.get("/alliance/").get_data(as_text=True)
    charts = _chart_values(dashboard)
    labels = {"HE": "HE", "SMP": "SMP", "ERDF": "ERDF", "INTERREG": "INTERREG"}
    for (metric, d1), share in wanted.items():
        definition = BY_KEY[metric]
        rows = _csv(office, f"/alliance/figures/{metric}.csv")
        if d1:
            shown = next(r for r in rows if d1 in (r[definition.d1], r[definition.d1].lower()))
        else:
            shown = rows[0]
        assert Decimal(shown["Share (%)"]) == share, (metric, d1)
        sheet = _xlsx(office, f"/alliance/figures/{metric}.xlsx")
        assert [r[-1] for r in sheet[1:]] == [_number(r["Share (%)"]) for r in rows], metric
        if d1 and definition.title in charts and d1 in labels:
            assert charts[definition.title][labels[d1]] == float(share), (metric, d1)
        if not d1:
            assert f">{share}%<" in dashboard.replace("\u00a0", ""), metric
        checked += 1
    assert checked == len(wanted)
    # The association's own share: exact, rounded once, the same on its page and CSV.
    rows = _csv(own, "/m-fr-a/figures/success_rate_by_programme.csv")
    smp = next(r for r in rows if r["Programme"] == "SMP")
    with app.app_context(), tenant_scope(ids[0]):
        own_snapshot = snapshots.latest_snapshot(ids[0])
        cell = db.session.scalar(
            select(MetricValue).where(
                MetricValue.snapshot_id == own_snapshot.id,
                MetricValue.metric == "success_rate_by_programme",
                MetricValue.d1 == "SMP",
            )
        )
        exact = disclosure.percent(cell.n, cell.base)
    assert Decimal(smp["Share (%)"]) == exact
    page = own.get("/m-fr-a/figures").get_data(as_text=True)
    assert f'<td class="num">{exact}%</td>' in page
    # Countries: every share shown per country is its rounded fraction too.
    for row in _csv(office, "/alliance/countries.csv"):
        for title in ("SME share of member firms", "Proposal success rate"):
            assert row[title] == "<5" or re.fullmatch(r"\d{1,3}\.\d", row[title]), row
