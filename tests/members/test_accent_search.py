"""Accent-free search everywhere, on both databases: the directory, its suggestions,
the contacts list, the participant picker and the partner search find "Łódź" by
``lodz``; another association's names never show; PostgreSQL reads an index."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, text

from crm.tenancy import tenant_scope
from tests.members.test_directory import names
from tests.profiles.conftest import publish

# What people type without accents -> the name it must find.
WORDS = {
    "Perez": "Pérez Ingeniería S.L.",
    "Lodz": "Politechnika Łódzka",
    "Wroclaw": "Wrocławski Park Technologiczny",
    "Gdansk": "Gdańskie Centrum Innowacji",
    "Krakow": "Kraków Tech Hub",
    "zywnosci": "Instytut Żywności i Żywienia",
}


@pytest.fixture
def accented(assoc, make, session):
    """The association's organisations with accented names, each with a contact, and
    another association holding a "Łódź" organisation of its own."""
    orgs = {
        word: make.org(assoc.tenant, name=name, city="Warszawa") for word, name in WORDS.items()
    }
    make.org(assoc.tenant, name="Plain Name Firm", city="Łódź")  # found by its city
    for word, org in orgs.items():
        make.contact(org, first_name="Ana", last_name=f"Núñez {word}")
    make.contact(orgs["Lodz"], first_name="José", last_name="Pérez")
    other = make.tenant(slug="assoc-pl", country="PL")
    make.org(other, name="Łódź Other Association Cluster", city="Łódź")
    session.flush()
    return {word: org.id for word, org in orgs.items()}


@pytest.mark.parametrize("word", WORDS)
def test_directory_finds_accented_names_without_accents(assoc, accented, word):
    for typed in (word, word.upper(), WORDS[word]):  # as typed, in capitals, accented
        response = assoc.client.get(f"{assoc.url}/members", query_string={"q": typed})
        assert WORDS[word] in names(response), typed


def test_directory_city_and_isolation(assoc, accented):
    found = names(assoc.client.get(f"{assoc.url}/members?q=lodz"))
    assert found == ["Plain Name Firm", "Politechnika Łódzka"]  # city prefix, name substring
    html = assoc.client.get(f"{assoc.url}/members?q=lodz other").get_data(as_text=True)
    assert "Other Association" not in html


def test_the_empty_state_says_what_was_searched(assoc, accented):
    html = assoc.client.get(f"{assoc.url}/members?q=xqzv").get_data(as_text=True)
    assert "shorter search" not in html
    assert "accents and case aside" in html and "Check the spelling" in html


def _suggest(assoc, q):
    return assoc.client.get(f"{assoc.url}/members/suggestions", query_string={"q": q})


@pytest.mark.parametrize("word", WORDS)
def test_suggestions_find_accented_names(assoc, accented, word):
    response = _suggest(assoc, word.lower())
    assert response.status_code == 200
    suggested = response.get_json()["suggestions"]
    assert WORDS[word] in [s["name"] for s in suggested]
    org = next(s for s in suggested if s["name"] == WORDS[word])
    assert org["url"] == f"{assoc.url}/members/{accented[word]}"


def test_suggestions_never_show_another_association(assoc, accented):
    suggested = [s["name"] for s in _suggest(assoc, "łódź").get_json()["suggestions"]]
    assert suggested == ["Plain Name Firm", "Politechnika Łódzka"]
    # Nothing of ours matches: the closest names (PostgreSQL) are ours only, too.
    body = _suggest(assoc, "other association cluster").get_data(as_text=True)
    assert "Other Association" not in body


@pytest.mark.parametrize("q", ["", "   ", "x" * 101])
def test_suggestions_refuse_bad_input_as_json(assoc, q):
    response = _suggest(assoc, q)
    assert response.status_code == 400
    assert "q must be" in response.get_json()["error"]


def test_suggestions_are_for_staff_only(accented, make, signed_in, assoc):
    manager = signed_in(make.user(assoc.tenant, role="cluster_manager"))
    assert manager.get(f"{assoc.url}/members/suggestions?q=lodz").status_code == 404


def test_suggestions_statement_count_does_not_grow_with_data(assoc, accented, make, count_queries):
    def run(q):
        with count_queries() as counter:
            assert _suggest(assoc, q).status_code == 200
        return counter.count

    few = run("lodz")
    for n in range(20):
        make.org(assoc.tenant, name=f"Łódź Firm {n}")
    assert run("lodz") == few
    assert run("qqqqzz") <= few + 1  # nothing found: the closest names (PostgreSQL)


@pytest.mark.parametrize("word", WORDS)
def test_contacts_find_accented_names_without_accents(assoc, accented, word):
    html = assoc.client.get(f"{assoc.url}/contacts", query_string={"q": word}).get_data(
        as_text=True
    )
    assert f"Núñez {word}" in html  # by their organisation's name
    html = assoc.client.get(f"{assoc.url}/contacts?q=nunez {word}").get_data(as_text=True)
    assert f"Núñez {word}" in html  # by their own name


def test_contacts_by_accented_person_name(assoc, accented):
    html = assoc.client.get(f"{assoc.url}/contacts?q=jose perez").get_data(as_text=True)
    assert "Pérez" in html and "Núñez Perez" not in html


@pytest.mark.parametrize("word", WORDS)
def test_participant_picker_finds_accented_names(assoc, accented, make, word):
    project = make.project(assoc.tenant)
    add = f"{assoc.url}/projects/{project.id}/participations/new"
    html = assoc.client.get(add, query_string={"q": word}).get_data(as_text=True)
    assert f">{WORDS[word]}<" in html
    assert "Other Association" not in assoc.client.get(add + "?q=lodz").get_data(as_text=True)


@pytest.mark.parametrize("word", WORDS)
def test_partner_search_finds_accented_names(assoc, accented, make, session, signed_in, word):
    from crm.models import Organisation

    with tenant_scope(assoc.tenant.id):
        org = session.get(Organisation, accented[word])
    publish(session, org, "Research", "materials")
    reader = signed_in(make.user(make.tenant(slug="assoc-es", country="ES")))
    html = reader.get("/assoc-es/partners", query_string={"q": word}).get_data(as_text=True)
    assert WORDS[word] in html


@pytest.mark.postgres
def test_folding_agrees_between_python_and_postgresql(session):
    from crm.folding import fold

    samples = [*WORDS.values(), "Łódź – „Żywności”", "Йордан Ёлкин", "Straße Æbeltoft Øresund"]
    for sample in samples:
        assert session.scalar(text("SELECT crm_fold(:s)"), {"s": sample}) == fold(sample)


def _plan(session, statement_of) -> str:
    """The plan of the last statement ``statement_of()`` runs, as the app role."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    connection = session.connection()
    assert session.scalar(text("SELECT current_user")) == "crm_app"
    # Planner settings as a large table would make it choose (the test data is tiny).
    session.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
    session.execute(text("SELECT set_config('enable_sort', 'off', true)"))
    event.listen(connection, "before_cursor_execute", capture)
    try:
        statement_of()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    statement, parameters = statements[-1]
    return "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())


@pytest.mark.postgres
def test_accent_free_search_reads_the_folded_index_under_rls(assoc, accented, session):
    """As the application role: the suggestions filter the folded name in an index-only
    scan of the name index (LIKE is not leakproof: never an index condition under
    RLS; the directory's own search reads the trigram indexes through a definer
    function: test_search_ids.py), and their fallback orders by the GiST trigram
    index on it."""
    from crm.members import queries

    with tenant_scope(assoc.tenant.id):
        plan = _plan(session, lambda: queries.suggestions("Łodz"))
        # The name index in the association's alphabetical order (migration 0030).
        assert "Index Only Scan using ix_organisations_dir_name_und" in plan, plan
        assert re.search(r"Filter: .*search_name ~~ '%lodz%'", plan), plan
        plan = _plan(session, lambda: queries.suggestions("lodzz"))
        assert "ix_organisations_name_knn" in plan, plan
        assert re.search(r"Order By: \(search_name <->> 'lodzz'", plan), plan


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("typed", "found"),
    [("lodzkaa", "Lodz"), ("wroclwski", "Wroclaw"), ("krakw", "Krakow")],
)
def test_closest_names_are_accent_free_for_short_words_too(assoc, accented, typed, found):
    """A typo typed without accents still finds the accented names closest to it."""
    html = assoc.client.get(f"{assoc.url}/members", query_string={"q": typed}).get_data(
        as_text=True
    )
    assert "these are the closest names" in html
    assert WORDS[found] in html and "Other Association" not in html
