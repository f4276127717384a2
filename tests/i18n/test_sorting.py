"""Alphabetical order by the association's language: ICU collations on
PostgreSQL, ``crm.collation.sort_key`` on SQLite and in Python; the same order
on both, through the directory's keyset pages."""

from __future__ import annotations

import re

import pytest

from crm.collation import collation_name, sort_key
from tests.members.test_directory import names

ORDERS = {
    "pl": ["Lublin", "Lz", "Łódź", "Oz", "Ósma", "Zamość", "Zz", "Źle", "Żory"],
    "es": ["Nube", "Nz", "Ñandú", "Oviedo"],
    "cs": ["Cizek", "Čáslav", "Hradec", "Chrudim", "Iva", "Rz", "Řím"],
    "en": ["Lodz", "Łódź", "Lublin", "Ñandú", "Nube", "Zamość"],
}


@pytest.mark.parametrize("language", ORDERS)
def test_sort_key_orders_as_the_language_does(language):
    expected = ORDERS[language]
    assert sorted(reversed(expected), key=lambda name: sort_key(name, language)) == expected


def test_accents_then_case_decide_only_between_equal_letters():
    words = ["cafe", "Cafe", "café", "cafés", "cafeteria"]
    assert sorted(words, key=lambda w: sort_key(w, "es")) == words
    assert sort_key(None, "pl") is None


def test_languages_without_their_own_order_use_the_root_collation():
    assert collation_name("pl") == "pl-x-icu"
    assert collation_name("fr") == collation_name("en") == "und-x-icu"
    assert collation_name("xx") == "und-x-icu"


@pytest.fixture
def association(make, session, signed_in):
    def make_one(country: str, words: list[str]):
        tenant = make.tenant(country=country)
        user = make.user(tenant)  # English interface: the association's language sorts
        for word in reversed(words):
            make.org(tenant, name=f"{word} Cluster", city=word)
        return f"/{tenant.slug}/members", signed_in(user)

    return make_one


@pytest.mark.parametrize(("country", "language"), [("PL", "pl"), ("ES", "es"), ("CZ", "cs")])
def test_the_directory_sorts_by_the_associations_language(association, country, language):
    url, client = association(country, ORDERS[language])
    expected = [f"{word} Cluster" for word in ORDERS[language]]
    assert names(client.get(url)) == expected
    assert names(client.get(url, query_string={"sort": "name", "dir": "desc"})) == expected[::-1]
    by_city = names(client.get(url, query_string={"sort": "city"}))
    assert by_city == expected


def test_keyset_pages_follow_the_languages_order(association):
    url, client = association("PL", ORDERS["pl"])
    expected = [f"{word} Cluster" for word in ORDERS["pl"]]
    page = client.get(url, query_string={"per_page": 50}).get_data(as_text=True)
    ids = dict(re.findall(r'/members/(\d+)">([^<]+)</a>', page)[::-1])
    id_of = {name: org_id for org_id, name in ids.items()}
    for i, name in enumerate(expected):
        if i < len(expected) - 1:  # (after the last page: the first page)
            after = client.get(url, query_string={"per_page": 2, "after": id_of[name]})
            assert names(after) == expected[i + 1 : i + 3]
        if i >= 2:  # (before the first page: the first page)
            before = client.get(url, query_string={"per_page": 2, "before": id_of[name]})
            assert names(before) == expected[i - 2 : i]
