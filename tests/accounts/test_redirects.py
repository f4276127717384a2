"""After sign-in, ``next`` leads only to a path of this site; anything else goes home."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from crm.accounts.redirects import safe_next
from tests.factories import PASSWORD

HOSTILE = [
    "/%09/evil.example",
    "//evil.example",
    "/\\evil.example",
    "https:evil.example",
    "https://evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "/%0aevil",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "evil.example",
    "",
]


@pytest.fixture
def secretariat(make):
    return make.user(make.tenant(), role="secretariat")


def _login(client, user, next_query: str):
    return client.post(
        f"/login?next={next_query}", data={"email": user.email, "password": PASSWORD}
    )


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_next_goes_home(client, secretariat, payload):
    response = _login(client, secretariat, payload)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_same_site_next_is_kept(client, secretariat, make):
    target = f"/{make.tenant().slug}/members?page=2"
    response = _login(client, secretariat, quote(target, safe="/"))
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize("value", ["/\t/evil.example", "/\r\n/evil", "/a\x00b", "\\\\evil"])
def test_control_characters_and_backslashes_are_never_kept(app, value):
    with app.test_request_context():
        assert safe_next(value) == "/"


def test_a_path_with_a_fragment_loses_it_and_keeps_the_query(app):
    with app.test_request_context():
        assert safe_next("/x/members?q=a#top") == "/x/members?q=a"
