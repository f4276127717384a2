"""The directory: search, filters, sort, pagination, export, bounded queries, bad input."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select, text

from crm.models import Ecosystem
from crm.tenancy import tenant_scope


def names(response) -> list[str]:
    html = response.get_data(as_text=True)
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r'<td><a href="/[^"]+/members/\d+">([^<]+)</a>', body)


@pytest.fixture
def data(assoc, make, session):
    t = assoc.tenant
    eco = session.scalars(select(Ecosystem).order_by(Ecosystem.id)).all()
    cluster = make.cluster(t, name="Aerospace Valley", city="Toulouse", nuts2="FR62")
    bio = make.org(
        t,
        name="BioWin Labs",
        city="Lyon",
        nuts2="FRK2",
        registration_id="552100554",
        employees=5,
        turnover_eur=1_000_000,
    )
    bio.ecosystems.append(eco[8])  # Health
    robo = make.org(
        t,
        name="Robotique Paris",
        city="Paris",
        nuts2="FR10",
        registration_id="803 000 111",
        employees=120,
        turnover_eur=20_000_000,
    )
    uni = make.org(t, kind="university", name="Université de Lyon", city="Lyon", nuts2="FRK2")
    make.org(t, name="Old Foundry", city="Lille", archived=True)
    make.membership(bio, status="active")
    make.membership(robo, status="lapsed")
    make.membership(uni, status="applicant")
    make.cluster_member(cluster, bio)
    make.cluster_member(cluster, uni)
    # Another association's member with a matching name must never show up.
    other = make.tenant(slug="assoc-es", country="ES")
    make.org(other, name="BioWin Iberia", city="Lyon")
    session.flush()
    # Ids, not ORM objects: after a request the test session reloads rows
    # outside any tenant scope, where they are invisible.
    return {"cluster": cluster.id, "health": eco[8].id}


def get(assoc, query=""):
    response = assoc.client.get(f"{assoc.url}/members{query}")
    assert response.status_code == 200
    return response


def test_lists_current_members_with_total(assoc, data):
    response = get(assoc)
    assert names(response) == [
        "Aerospace Valley",
        "BioWin Labs",
        "Robotique Paris",
        "Université de Lyon",
    ]
    assert "4 results" in response.get_data(as_text=True)
    assert "BioWin Iberia" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?q=biowin", ["BioWin Labs"]),
        ("?q=WIN", ["BioWin Labs"]),  # substring, any case
        ("?q=lyon", ["BioWin Labs", "Université de Lyon"]),  # city prefix and name
        ("?q=5521", ["BioWin Labs"]),  # registration id prefix
        ("?q=803 000", ["Robotique Paris"]),
        ("?q=%25", []),  # LIKE wildcards are literal
        ("?kind=university", ["Université de Lyon"]),
        ("?status=lapsed", ["Robotique Paris"]),
        ("?status=none", ["Aerospace Valley"]),
        ("?size=micro", ["BioWin Labs"]),
        ("?size=medium", ["Robotique Paris"]),
        ("?region=FRK", ["BioWin Labs", "Université de Lyon"]),
        ("?region=fr10", ["Robotique Paris"]),
        ("?archived=1", ["Old Foundry"]),
        ("?kind=firm&status=active", ["BioWin Labs"]),
    ],
)
def test_search_and_filters(assoc, data, query, expected):
    found = names(get(assoc, query))
    if query.startswith("?q="):
        found = sorted(found)  # PostgreSQL ranks search results by similarity
    assert found == expected


def test_search_ignores_case_in_every_alphabet(assoc, make, session):
    """SQLite's own lower() folds A-Z only: "Łódź" stayed "Łódź" there."""
    make.org(assoc.tenant, name="ŁÓDZKA Spółka", city="Łódź")
    make.org(assoc.tenant, name="Софийски Клъстер", city="София")
    session.flush()
    assert names(get(assoc, "?q=łódzka")) == ["ŁÓDZKA Spółka"]
    assert names(get(assoc, "?q=łódź")) == ["ŁÓDZKA Spółka"]  # the city, from its start
    assert names(get(assoc, "?q=клъстер")) == ["Софийски Клъстер"]


def test_ecosystem_and_cluster_filters(assoc, data):
    assert names(get(assoc, f"?ecosystem={data['health']}")) == ["BioWin Labs"]
    assert names(get(assoc, f"?cluster={data['cluster']}")) == [
        "BioWin Labs",
        "Université de Lyon",
    ]


CLOSEST = "these are the closest names"


@pytest.mark.postgres
def test_typo_tolerant_name_search_on_postgres(assoc, data):
    response = get(assoc, "?q=robotiqe")
    assert names(response) == ["Robotique Paris"]
    assert f"No name contains “robotiqe”; {CLOSEST}" in response.get_data(as_text=True)
    assert names(get(assoc, "?q=aerospase")) == ["Aerospace Valley"]
    assert names(get(assoc, "?q=universite")) == ["Université de Lyon"]  # no accent typed
    assert names(get(assoc, "?q=ROBOTIQE")) == ["Robotique Paris"]


def test_typo_search_falls_back_to_closest_names_only_on_postgres(assoc, data, dialect):
    """SQLite has no trigrams: a typo finds nothing there (the documented fallback)."""
    html = get(assoc, "?q=robotiqe").get_data(as_text=True)
    if dialect == "postgresql":
        assert CLOSEST in html and "Robotique Paris" in html
    else:
        assert CLOSEST not in html and "No organisation matches" in html


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?q=robotiqe&status=lapsed", ["Robotique Paris"]),
        ("?q=robotiqe&status=active", []),
        ("?q=robotiqe&kind=university", []),
        ("?q=robotiqe&region=FRK", []),
        ("?q=biowinn&ecosystem=health", ["BioWin Labs"]),
        ("?q=universte&cluster=cluster", ["Université de Lyon"]),
        ("?q=old foundy", []),  # archived: only with archived=1
        ("?q=old foundy&archived=1", ["Old Foundry"]),
    ],
)
def test_closest_names_keep_the_other_filters(assoc, data, query, expected):
    query = query.replace("=health", f"={data['health']}")
    query = query.replace("=cluster", f"={data['cluster']}")
    response = get(assoc, query)
    assert names(response) == expected
    html = response.get_data(as_text=True)
    assert (CLOSEST in html) == bool(expected)
    if not expected:
        assert "No organisation matches" in html


@pytest.mark.postgres
def test_closest_names_never_come_from_another_tenant(assoc, data, make, session):
    other = make.tenant(slug="assoc-it", country="IT")
    make.org(other, name="Zephyrine Meccanica")
    session.flush()
    response = get(assoc, "?q=biowinn")
    assert names(response) == ["BioWin Labs"]
    assert "Iberia" not in response.get_data(as_text=True)
    html = get(assoc, "?q=zephyrin meccanica").get_data(as_text=True)
    assert "Zephyrine" not in html and CLOSEST not in html
    assert "No organisation matches" in html


@pytest.mark.postgres
def test_closest_names_only_when_the_search_finds_nothing(assoc, data):
    assert CLOSEST not in get(assoc, "?q=biowin").get_data(as_text=True)
    # Two letters are too few for trigrams: no guess.
    html = get(assoc, "?q=qz").get_data(as_text=True)
    assert CLOSEST not in html and "No organisation matches" in html


@pytest.mark.postgres
def test_closest_names_rank_the_closest_first(assoc, make, session):
    for name in ["Mecatronic Alsace", "Mecatronique Alsace", "Mecanique Alsace"]:
        make.org(assoc.tenant, name=name)
    session.flush()
    assert names(get(assoc, "?q=mecatroniqe alsace"))[0] == "Mecatronique Alsace"


@pytest.mark.postgres
def test_closest_names_come_from_the_trigram_index_under_rls(assoc, data, session):
    """As the application role (RLS on), the nearest-neighbour scan of migration
    0029's GiST index on the folded name drives the ORDER BY: only the closest rows are read."""
    from crm.members import queries

    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    filters = queries.DirectoryFilters(q="robotiqe", kind="firm")
    connection = session.connection()
    assert session.scalar(text("SELECT current_user")) == "crm_app"
    # Planner settings as a large table would make it choose (the test data is tiny).
    session.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
    session.execute(text("SELECT set_config('enable_sort', 'off', true)"))
    with tenant_scope(assoc.tenant.id):
        event.listen(connection, "before_cursor_execute", capture)
        try:
            session.execute(queries._closest(filters, queries.DIRECTORY_COLUMNS)).all()
        finally:
            event.remove(connection, "before_cursor_execute", capture)
        statement, parameters = statements[-1]
        plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    assert "ix_organisations_name_knn" in plan, plan
    assert re.search(r"Order By: \(search_name <->> ", plan), plan


@pytest.mark.postgres
def test_export_of_a_typo_search_is_what_the_directory_shows(assoc, data):
    body = assoc.client.get(f"{assoc.url}/members/export.csv?q=robotiqe").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert [r["name"] for r in rows] == ["Robotique Paris"]


def test_sorting(assoc, data):
    assert names(get(assoc, "?sort=name&dir=desc"))[0] == "Université de Lyon"
    assert names(get(assoc, "?sort=city")) == [
        "BioWin Labs",
        "Université de Lyon",
        "Robotique Paris",
        "Aerospace Valley",
    ]
    assert names(get(assoc, "?sort=created&dir=desc"))[0] == "Université de Lyon"
    # Kind and region sort by name within a kind or a region.
    assert names(get(assoc, "?sort=kind")) == [
        "Aerospace Valley",
        "BioWin Labs",
        "Robotique Paris",
        "Université de Lyon",
    ]
    assert names(get(assoc, "?sort=region")) == [
        "Robotique Paris",
        "Aerospace Valley",
        "BioWin Labs",
        "Université de Lyon",
    ]


@pytest.mark.parametrize("sort", ["city", "region", "name", "kind", "created"])
def test_descending_is_the_exact_reverse_of_ascending(assoc, data, make, sort):
    """Empty values come last going up, first going down (one index serves both)."""
    make.org(assoc.tenant, name="Nowhere Ltd")  # no city, no region
    make.org(assoc.tenant, name="Nowhere Two")
    ascending = names(get(assoc, f"?sort={sort}"))
    assert len(ascending) == 6
    assert names(get(assoc, f"?sort={sort}&dir=desc")) == ascending[::-1]
    if sort in ("city", "region"):
        assert ascending[-2:] == ["Nowhere Ltd", "Nowhere Two"]


def test_pagination_keeps_filters_and_shows_total(assoc, make):
    for n in range(7):
        make.org(assoc.tenant, name=f"Firm {n:02d}")
    first = get(assoc, "?per_page=3&kind=firm")
    html = first.get_data(as_text=True)
    assert "7 results" in html and "page 1 of 3" in html
    assert names(first) == ["Firm 00", "Firm 01", "Firm 02"]
    assert "kind=firm" in re.search(r'href="([^"]+)" rel="next"', html).group(1)
    assert names(get(assoc, "?per_page=3&kind=firm&page=3")) == ["Firm 06"]
    # A page past the end shows the last page, not an error.
    assert names(get(assoc, "?per_page=3&kind=firm&page=99")) == ["Firm 06"]


@pytest.mark.parametrize(
    "query",
    [
        "?page=abc",
        "?page=-4",
        "?per_page=0",
        "?per_page=100000",
        "?sort=password",
        "?dir=sideways",
        "?kind=spaceship",
        "?ecosystem=x",
        "?cluster=99999999999999999999",
        "?region=%27%3B--",
        "?q=" + "x" * 5000,
        "?status=' OR 1=1",
        "?size=%00",
    ],
)
def test_bad_input_never_errors(assoc, data, query):
    assert assoc.client.get(f"{assoc.url}/members{query}").status_code == 200
    assert assoc.client.get(f"{assoc.url}/members/export.csv{query}").status_code == 200


def test_empty_states_say_what_to_do(assoc, data):
    html = get(assoc, "?q=nothing-like-this").get_data(as_text=True)
    assert "No organisation matches" in html and "Clear filters" in html


def test_export_csv_is_the_filtered_list(assoc, data):
    response = assoc.client.get(f"{assoc.url}/members/export.csv?city=&q=lyon")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    rows.sort(key=lambda r: r["name"])
    assert [r["name"] for r in rows] == ["BioWin Labs", "Université de Lyon"]
    assert rows[0]["ecosystems"] == "Health"
    assert rows[0]["membership_status"] == "active"
    assert rows[0]["size_class"] == "micro"


def test_export_xlsx_is_the_filtered_list(assoc, data):
    response = assoc.client.get(f"{assoc.url}/members/export.xlsx?status=lapsed")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "name"
    assert [r[1] for r in rows[1:]] == ["Robotique Paris"]


def test_export_neutralises_formulas(assoc, make):
    make.org(assoc.tenant, name='=HYPERLINK("http://evil")')
    body = assoc.client.get(f"{assoc.url}/members/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_query_count_does_not_grow_with_page_size_or_data(assoc, make, count_queries):
    def run(query):
        with count_queries() as counter:
            assert assoc.client.get(f"{assoc.url}/members{query}").status_code == 200
        return counter.count

    cursors = []
    for n in range(3):
        org = make.org(assoc.tenant, name=f"Small {n}")
        make.membership(org)
        cursors.append(org.id)
    small = run("?per_page=2")
    for n in range(40):
        org = make.org(assoc.tenant, name=f"Big {n}", city="Lyon")
        make.membership(org)
        make.contact(org)
    assert run("?per_page=2") == small
    assert run(f"?after={cursors[0]}&per_page=2") == small  # keyset: its row; page and total
    # A first page that is not full holds every match: it needs no count.
    assert run("?per_page=50") == small - 1
    assert run("?per_page=50&q=big&status=active&size=none") == small - 1
    assert run("?per_page=50&contact_role=management&programme=HE&tag=1") == small - 1
    assert small <= 10  # with the tag and programme choices of the related-record filters


@pytest.mark.postgres
def test_closest_names_query_count_does_not_grow_with_data(assoc, make, count_queries):
    def run(query):
        with count_queries() as counter:
            response = assoc.client.get(f"{assoc.url}/members{query}")
        assert response.status_code == 200
        return counter.count, names(response)

    org = make.org(assoc.tenant, name="Robotique Paris")
    make.membership(org)
    plain, _ = run("?per_page=2")
    few, found = run("?q=robotiqe&per_page=2")
    assert found == ["Robotique Paris"]
    for n in range(40):
        org = make.org(assoc.tenant, name=f"Robotique {n}", city="Lyon")
        make.membership(org)
        make.contact(org)
    many, found = run("?q=robotiqe&per_page=2")
    assert len(found) == 41, "closest names are one page, whatever per_page says"
    assert few == many == plain + 1, "the closest names take one more statement, whatever the data"


def test_export_query_count_is_constant(assoc, make, count_queries):
    def run():
        with count_queries() as counter:
            assert assoc.client.get(f"{assoc.url}/members/export.csv").status_code == 200
        return counter.count

    make.org(assoc.tenant)
    few = run()
    for _ in range(30):
        make.org(assoc.tenant)
    assert run() == few


# -- keyset pages and the capped total --------------------------------------------------


def _links(response) -> dict[str, str]:
    """The pager's links by label (First, Previous, Next, Last)."""
    html = response.get_data(as_text=True).split('class="pager"', 1)[1]
    return {
        label.strip("←→ "): href.replace("&amp;", "&").split("/members", 1)[1]
        for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', html)
    }


def _walk(assoc, query: str, link: str) -> list[str]:
    """Every name met following the pager's ``link`` from ``query`` on."""
    seen, response = [], get(assoc, query)
    for _ in range(50):
        seen.append(names(response))
        if link not in _links(response):
            break
        response = get(assoc, _links(response)[link])
    return seen


@pytest.mark.parametrize("sort", ["city", "region", "name", "kind", "created"])
@pytest.mark.parametrize("desc", [False, True])
def test_next_and_previous_links_walk_the_whole_list_in_order(
    assoc, data, make, monkeypatch, sort, desc
):
    """Beyond the numbered pages, Next and Previous continue from the page's last or
    first row (keyset): nothing skipped or repeated, empty cities and regions too."""
    from crm.members import queries

    monkeypatch.setattr(queries, "OFFSET_MAX", 2)  # numbered pages 1 and 2 only
    for n in range(5):
        make.org(assoc.tenant, name=f"Nowhere {n}")  # no city, no region
        make.org(assoc.tenant, name=f"Lyon Firm {n}", city="Lyon", nuts2="FRK2")
    order = f"?sort={sort}" + ("&dir=desc" if desc else "")
    everything = names(get(assoc, order + "&per_page=200"))
    assert len(everything) == 14
    pages = _walk(assoc, order + "&per_page=3", "Next")
    assert [n for page in pages for n in page] == everything
    assert [len(p) for p in pages] == [3, 3, 3, 3, 2]
    # Backwards from the last page (full); the first page is full too.
    backwards = _walk(assoc, order + "&per_page=3&last=1", "Previous")
    assert [len(p) for p in backwards] == [3, 3, 3, 3, 3]
    assert [n for page in reversed(backwards[:-1]) for n in page] == everything[2:]
    assert backwards[-1] == everything[:3]


def test_numbered_pages_then_keyset_links(assoc, make, monkeypatch):
    from crm.members import queries

    monkeypatch.setattr(queries, "OFFSET_MAX", 3)
    for n in range(10):
        make.org(assoc.tenant, name=f"Firm {n:02d}")
    first = get(assoc, "?per_page=3")
    assert "10 results · page 1 of 4" in first.get_data(as_text=True)
    assert _links(first)["Next"] == "?page=2&per_page=3"
    second = get(assoc, _links(first)["Next"])
    assert names(second) == ["Firm 03", "Firm 04", "Firm 05"]
    assert _links(second)["Previous"] == "?page=1&per_page=3"
    # Page 3 would skip more than OFFSET_MAX rows: its link starts after Firm 05.
    third = get(assoc, _links(second)["Next"])
    assert "after=" in _links(second)["Next"] and names(third) == ["Firm 06", "Firm 07", "Firm 08"]
    assert "page 3" not in third.get_data(as_text=True)  # its number is not known
    # A numbered page too deep to skip to shows the last page (read backwards: full).
    assert names(get(assoc, "?per_page=3&page=4")) == ["Firm 07", "Firm 08", "Firm 09"]


def test_the_total_is_counted_up_to_a_cap(assoc, make, monkeypatch):
    from crm.members import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    for n in range(7):
        make.org(assoc.tenant, name=f"Firm {n:02d}")
    html = get(assoc, "?per_page=3").get_data(as_text=True)
    assert "more than 5 results · page 1</span>" in html
    last = get(assoc, "?per_page=3&last=1")
    assert names(last) == ["Firm 04", "Firm 05", "Firm 06"]
    assert "more than 5 results</span>" in last.get_data(as_text=True)
    assert set(_links(last)) == {"First", "Previous"}


def test_a_filtered_page_counts_up_to_a_smaller_cap(assoc, make, monkeypatch):
    """A page filtered otherwise than by a search stops counting at
    FILTERED_COUNT_CAP; the unfiltered list keeps COUNT_CAP."""
    from crm.members import queries

    monkeypatch.setattr(queries, "FILTERED_COUNT_CAP", 4)
    for n in range(6):
        make.org(assoc.tenant, name=f"Firm {n:02d}", nuts2="FR10")
    make.org(assoc.tenant, name="Firm Elsewhere", nuts2="FRK2")
    filtered = get(assoc, "?per_page=3&region=FR1").get_data(as_text=True)
    assert "more than 4 results · page 1</span>" in filtered
    assert "7 results" in get(assoc, "?per_page=3").get_data(as_text=True)
    assert names(get(assoc, "?region=FRK")) == ["Firm Elsewhere"]


def test_a_cursor_of_another_association_shows_the_first_page(assoc, data, make, session):
    other = make.tenant(slug="assoc-cursor")
    foreign = make.org(other, name="Zzz Foreign").id
    session.flush()
    for key in ("after", "before"):
        response = get(assoc, f"?{key}={foreign}")
        assert names(response) == names(get(assoc)) and "Zzz" not in response.get_data(as_text=True)
