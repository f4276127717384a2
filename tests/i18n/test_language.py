"""Whose language the interface speaks: the user's choice, else the
association's, else English for the alliance office; before sign-in, the
browser's or the switcher's."""

from __future__ import annotations

import re

import pytest

from crm.models import User


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_a_secretariat_sees_its_association_language_until_it_chooses(make, session, signed_in):
    polish = make.tenant(country="PL")
    user = make.user(polish, language=None)
    user_id, client = user.id, signed_in(user)  # before the commit expires the row (RLS)
    session.commit()
    assert _lang(client.get(f"/{polish.slug}/members")) == "pl"

    response = client.post("/language", data={"language": "es", "next": f"/{polish.slug}/members"})
    assert response.status_code == 302 and response.location.endswith(f"/{polish.slug}/members")
    assert _lang(client.get(f"/{polish.slug}/members")) == "es"
    assert session.get(User, user_id).language == "es"


def test_the_alliance_office_defaults_to_english(make, session, signed_in):
    make.tenant(country="PL")
    client = signed_in(make.user(None, role="alliance_analyst"))
    session.commit()
    assert _lang(client.get("/alliance/")) == "en"


def test_before_sign_in_the_browser_then_the_switcher_decides(client):
    assert _lang(client.get("/login", headers={"Accept-Language": "ro-RO,ro;q=0.9"})) == "ro"
    assert _lang(client.get("/login", headers={"Accept-Language": "de-DE"})) == "en"
    client.post("/language", data={"language": "fi", "next": "//evil.example/"})
    assert _lang(client.get("/login", headers={"Accept-Language": "ro"})) == "fi"


@pytest.mark.parametrize("language", ["", "xx", "en_US", "../../etc"])
def test_an_unknown_language_is_refused(client, language):
    assert client.post("/language", data={"language": language}).status_code == 400
