"""In a real browser: suggestions as you type in the directory's search box.

Typing ``lodz`` suggests "Łódź…" names without a page load (an ARIA listbox),
never another association's; the arrow keys and Enter open the one chosen,
Escape closes the list.
"""

from __future__ import annotations

import re

import pytest

from crm.extensions import db
from tests.conftest import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser


def test_typing_lodz_suggests_lodz_and_opens_the_one_picked(committed_app, page, console_errors):
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-suggest", country="PL", name="Polskie Klastry")
        user = make.user(tenant, role="secretariat", email="secretariat@suggest.example")
        make.org(tenant, name="Łódź Textile Cluster", city="Łódź")
        picked = make.org(tenant, name="Politechnika Łódzka", city="Łódź")
        make.org(tenant, name="Gdańsk Maritime", city="Gdańsk")
        other = make.tenant(slug="browser-suggest-other", country="PL")
        make.org(other, name="Łódź Other Association", city="Łódź")
        slug, email, picked_id = tenant.slug, user.email, picked.id
        db.session.commit()

    sign_in(page, email)
    page.wait_for_url(f"**/{slug}/dashboard")
    page.goto(f"/{slug}/members")
    box = page.get_by_role("combobox", name="Search")
    assert box.get_attribute("aria-autocomplete") == "list"
    assert box.get_attribute("aria-expanded") == "false"
    box.press_sequentially("lodz", delay=30)
    listbox = page.get_by_role("listbox", name="Suggested organisations")
    listbox.wait_for()
    options = listbox.get_by_role("option")
    texts = options.all_inner_texts()  # by name (the sort's rules are the database's)
    assert sorted(texts) == ["Politechnika Łódzka · Łódź", "Łódź Textile Cluster · Łódź"]
    assert box.get_attribute("aria-expanded") == "true"
    assert page.url.endswith(f"/{slug}/members")  # no page load
    assert "Other Association" not in listbox.inner_text()

    box.press("Escape")
    assert listbox.is_hidden() and box.get_attribute("aria-expanded") == "false"
    box.press_sequentially(" ")  # typing again asks again
    box.press("Backspace")
    listbox.wait_for()
    position = texts.index("Politechnika Łódzka · Łódź")
    for _ in range(position + 1):
        box.press("ArrowDown")
    chosen = options.nth(position)
    assert chosen.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == chosen.get_attribute("id")
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/{slug}/members/{picked_id}$"))
    assert page.get_by_role("heading", name="Politechnika Łódzka").is_visible()
