"""Recording projects: the form, the rules' messages, status history, the list."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from crm.models import Project, ProjectStatusChange
from tests.projects.conftest import project_form, reload, url


def _project(session, acronym="GREENLOOP") -> Project:
    return session.scalar(select(Project).where(Project.acronym == acronym))


def test_secretariat_records_a_project_with_its_first_status(world, signed_in, session):
    client = signed_in(world.users.secretariat)
    assert client.get(url(world, "/projects/new")).status_code == 200
    data = project_form(ecosystem_ids=["5", "9"], flagship_ids=["1"])
    response = client.post(url(world, "/projects/new"), data=data)
    assert response.status_code == 302
    with _scope(world):
        project = _project(session)
        assert project.grant_number == "GA 101 070 123"
        assert project.grant_key == "101070123"
        assert [e.id for e in project.ecosystems] == [5, 9]
        assert [f.id for f in project.flagships] == [1]
        history = session.scalars(select(ProjectStatusChange)).all()
    assert [(h.from_status, h.to_status, h.changed_on) for h in history] == [
        (None, "proposal", date(2023, 10, 1))
    ]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "GREENLOOP" in page and "Circular plastics" in page and "Proposal" in page


def _scope(world):
    from crm.tenancy import tenant_scope

    return tenant_scope(world.tenant.id)


def _errors_for(client, world, **fields):
    response = client.post(url(world, "/projects/new"), data=project_form(**fields))
    assert response.status_code == 422
    return response.get_data(as_text=True)


def test_project_rules_answer_with_field_messages(world, signed_in, session):
    client = signed_in(world.users.secretariat)
    page = _errors_for(client, world, start_date="2025-01-01", end_date="2024-12-31")
    assert "must be after the start date" in page
    page = _errors_for(client, world, status="proposal", eu_contribution="5000")
    assert "The project is a proposal: it has received no EU contribution" in page
    page = _errors_for(client, world, status="rejected", eu_contribution="1")
    assert "a rejected project" in page
    page = _errors_for(client, world, total_budget="-5")
    assert "The total budget cannot be negative." in page
    with _scope(world):
        assert _project(session) is None


def test_bad_input_re_renders_never_500(world, signed_in):
    client = signed_in(world.users.secretariat)
    for fields in (
        {"start_date": "2024-13-45"},
        {"total_budget": "a lot"},
        {"programme_code": "NOPE"},
        {"status": "dreaming"},
        {"ecosystem_ids": ["abc"]},
        {"ecosystem_ids": ["999"]},
        {"acronym": "", "title": ""},
        {"status_changed_on": ""},
        {"total_budget": "1e400"},
    ):
        response = client.post(url(world, "/projects/new"), data=project_form(**fields))
        assert response.status_code == 422, fields


def test_edit_records_each_status_change_with_its_date(world, signed_in, session, make):
    project = make.project(world.tenant, status="proposal", acronym="EDITME")
    client = signed_in(world.users.admin)
    assert client.get(url(world, f"/projects/{project.id}/edit")).status_code == 200
    steps = [("submitted", "2024-02-01", ""), ("funded", "2024-06-15", "750000")]
    for status, on, eu in steps:
        data = project_form(
            acronym="EDITME", status=status, status_changed_on=on, eu_contribution=eu
        )
        response = client.post(url(world, f"/projects/{project.id}/edit"), data=data)
        assert response.status_code == 302, response.get_data(as_text=True)
    # An edit that keeps the status adds no history.
    data = project_form(acronym="EDITME", status="funded", eu_contribution="750000", title="New")
    assert client.post(url(world, f"/projects/{project.id}/edit"), data=data).status_code == 302
    with _scope(world):
        history = session.scalars(
            select(ProjectStatusChange)
            .where(ProjectStatusChange.project_id == project.id)
            .order_by(ProjectStatusChange.id)
        ).all()
        project = reload(project)
    assert [(h.from_status, h.to_status, h.changed_on.isoformat()) for h in history] == [
        ("proposal", "submitted", "2024-02-01"),
        ("submitted", "funded", "2024-06-15"),
    ]
    assert project.title == "New" and project.eu_contribution == Decimal("750000")


def test_outcome_form_records_funded_and_refuses_eu_money_for_rejected(
    world, signed_in, session, make
):
    project = make.project(world.tenant, status="submitted")
    client = signed_in(world.users.secretariat)
    assert client.get(url(world, f"/projects/{project.id}/outcome")).status_code == 200
    response = client.post(
        url(world, f"/projects/{project.id}/outcome"),
        data={"status": "rejected", "changed_on": "2024-05-01", "eu_contribution": "10"},
    )
    assert response.status_code == 422
    assert "a rejected project" in response.get_data(as_text=True)
    response = client.post(
        url(world, f"/projects/{project.id}/outcome"),
        data={"status": "submitted", "changed_on": "2024-05-01"},
    )
    assert "already submitted" in response.get_data(as_text=True)
    response = client.post(
        url(world, f"/projects/{project.id}/outcome"),
        data={"status": "funded", "changed_on": "2024-05-02", "eu_contribution": "500000"},
    )
    assert response.status_code == 302
    with _scope(world):
        project = reload(project)
        change = session.scalar(
            select(ProjectStatusChange).where(ProjectStatusChange.project_id == project.id)
        )
    assert project.status == "funded" and project.eu_contribution == Decimal("500000")
    assert (change.from_status, change.to_status, change.changed_on) == (
        "submitted",
        "funded",
        date(2024, 5, 2),
    )


def test_edit_refuses_total_below_the_shares(world, signed_in, make):
    project = make.project(world.tenant, status="funded", total_budget=Decimal("1000"))
    make.participation(project, world.firm1, budget_share=Decimal("800"))
    client = signed_in(world.users.secretariat)
    data = project_form(status="funded", total_budget="500")
    response = client.post(url(world, f"/projects/{project.id}/edit"), data=data)
    assert response.status_code == 422
    assert "add up to 800.00, above the project&#39;s total budget of 500.00" in response.get_data(
        as_text=True
    )


def _listed(client, world, query=""):
    page = client.get(url(world, f"/projects{query}"))
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_list_filters(world, signed_in, make, session):
    he = make.project(
        world.tenant, programme="HE", status="funded", acronym="AAHE", start_date=date(2023, 3, 1)
    )
    erdf = make.project(
        world.tenant,
        programme="ERDF",
        status="rejected",
        acronym="AAERDF",
        start_date=date(2024, 3, 1),
        cluster_id=world.other_cluster.id,
    )
    with _scope(world):
        from crm.models import Ecosystem

        erdf.ecosystems = [session.get(Ecosystem, 5)]
        session.flush()
    make.participation(he, world.firm1, role="coordinator")
    make.participation(he, world.cluster)
    client = signed_in(world.users.secretariat)
    both = _listed(client, world)
    assert "AAHE" in both and "AAERDF" in both and "2 results" in both
    for query, expected in [
        ("?programme=HE", "AAHE"),
        ("?status=rejected", "AAERDF"),
        ("?year=2023", "AAHE"),
        ("?ecosystem=5", "AAERDF"),
        (f"?cluster={world.cluster.id}", "AAHE"),  # the cluster participates
        (f"?cluster={world.other_cluster.id}", "AAERDF"),  # the cluster recorded it
        (f"?organisation={world.firm1.id}", "AAHE"),
    ]:
        page = _listed(client, world, query)
        other = "AAERDF" if expected == "AAHE" else "AAHE"
        assert expected in page and other not in page, query
    assert "Alpha Firm One" in _listed(client, world, f"?organisation={world.firm1.id}")
    # Filters that make no sense are ignored, not a 500.
    for query in ("?year=abc", "?ecosystem=zz", "?cluster=1.5", "?page=0", "?page=x"):
        assert client.get(url(world, f"/projects{query}")).status_code in (200, 404), query


def test_list_paginates_with_a_total(world, signed_in, make, app):
    app.config["PAGE_SIZE"] = 3
    try:
        for i in range(7):
            make.project(world.tenant, acronym=f"PG{i}")
        client = signed_in(world.users.secretariat)
        first = _listed(client, world)
        assert "7 results" in first and "page 1 of 3" in first
        assert "page 3 of 3" in _listed(client, world, "?page=3")
    finally:
        app.config["PAGE_SIZE"] = 50


def test_export_csv_and_xlsx_follow_the_filters(world, signed_in, make):
    make.project(world.tenant, programme="HE", acronym="=HACK", grant_number="GA-1")
    make.project(world.tenant, programme="ERDF", acronym="OTHER")
    client = signed_in(world.users.secretariat)
    response = client.get(url(world, "/projects?programme=HE&format=csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert "'=HACK" in body and "OTHER" not in body
    response = client.get(url(world, "/projects?format=xlsx"))
    sheet = load_workbook(io.BytesIO(response.data)).active
    acronyms = {row[4] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert acronyms == {"=HACK", "OTHER"}  # a text cell, as typed: no apostrophe in XLSX


def test_list_and_project_page_query_counts_are_bounded(world, signed_in, make, count_queries):
    client = signed_in(world.users.secretariat)

    def fill(n):
        for i in range(n):
            project = make.project(world.tenant, acronym=f"Q{n}-{i}", cluster_id=world.cluster.id)
            make.participation(project, world.firm1, role="coordinator")
            make.participation(project, world.firm2)
        return project

    fill(2)
    with count_queries() as few:
        _listed(client, world)
    last = fill(20)
    path = url(world, f"/projects/{last.id}")
    with count_queries() as many:
        _listed(client, world)
    assert many.count == few.count <= 12, many.statements

    with count_queries() as page_queries:
        assert client.get(path).status_code == 200
    make.participation(last, world.uni)
    make.participation(last, world.outsider)
    with count_queries() as more:
        assert client.get(path).status_code == 200
    assert more.count == page_queries.count <= 12, more.statements


def test_rejection_without_an_amount_clears_a_recorded_contribution(world, signed_in, make):
    project = make.project(world.tenant, status="submitted", eu_contribution=Decimal("5"))
    client = signed_in(world.users.secretariat)
    response = client.post(
        url(world, f"/projects/{project.id}/outcome"),
        data={"status": "rejected", "changed_on": "2024-05-01"},
    )
    assert response.status_code == 302
    project = reload(project)
    assert (project.status, project.eu_contribution) == ("rejected", None)


def test_export_columns_name_the_cluster_and_count_participants(
    world, signed_in, make, count_queries
):
    recorded = make.project(world.tenant, acronym="WITHCLUSTER", cluster_id=world.cluster.id)
    for org in (world.firm1, world.firm2, world.uni):
        make.participation(recorded, org)
    make.project(world.tenant, acronym="ALONE")
    client = signed_in(world.users.secretariat)
    with count_queries() as few:
        assert client.get(url(world, "/projects?format=csv")).status_code == 200
    response = client.get(url(world, "/projects?format=xlsx"))
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-2:] == ("cluster", "participants")
    by_acronym = {row[4]: row for row in rows[1:]}
    assert by_acronym["WITHCLUSTER"][-2:] == ("Cluster Alpha", 3)
    assert by_acronym["ALONE"][-2:] in (("", 0), (None, 0))
    for i in range(15):
        project = make.project(world.tenant, acronym=f"MORE{i}", cluster_id=world.cluster.id)
        make.participation(project, world.firm1)
    with count_queries() as many:
        assert client.get(url(world, "/projects?format=csv")).status_code == 200
    # One query for the rows, whatever their number (plus the page's fixed ones).
    assert many.count == few.count, many.statements


def test_year_filter_is_the_calendar_year_of_the_start(world, signed_in, make):
    make.project(world.tenant, acronym="NEWYEARSEVE", start_date=date(2023, 12, 31))
    make.project(world.tenant, acronym="NEWYEARSDAY", start_date=date(2024, 1, 1))
    make.project(world.tenant, acronym="UNDATED")
    client = signed_in(world.users.secretariat)
    page = _listed(client, world, "?year=2024")
    assert "NEWYEARSDAY" in page and "NEWYEARSEVE" not in page and "UNDATED" not in page
    page = _listed(client, world, "?year=2023")
    assert "NEWYEARSEVE" in page and "NEWYEARSDAY" not in page


def test_list_orders_newest_start_first_and_undated_last(world, signed_in, make):
    for acronym, start in (("OLDEST", date(2020, 1, 1)), ("NODATE", None)):
        make.project(world.tenant, acronym=acronym, start_date=start)
    make.project(world.tenant, acronym="NEWEST", start_date=date(2025, 6, 1))
    page = _listed(signed_in(world.users.secretariat), world)
    assert page.index("NEWEST") < page.index("OLDEST") < page.index("NODATE")


def test_out_of_range_ids_in_filters_are_ignored_not_a_500(world, signed_in, make):
    make.project(world.tenant, acronym="STILLHERE")
    client = signed_in(world.users.secretariat)
    for query in (
        "?organisation=99999999999",
        "?cluster=99999999999",
        "?ecosystem=99999999999",
        "?organisation=-3",
        "?organisation=0",
    ):
        response = client.get(url(world, f"/projects{query}"))
        assert response.status_code == 200, query
        assert "STILLHERE" in response.get_data(as_text=True), query
