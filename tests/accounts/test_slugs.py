"""Association slugs may not shadow the site's own addresses."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.models import Tenant
from crm.slugs import reserved_slugs, slug_problem


def _form(slug: str) -> dict:
    return {
        "slug": slug,
        "name": "New Association",
        "country": "ES",
        "admin_name": "Ana Admin",
        "admin_email": "first-admin@example.org",
    }


def test_every_first_segment_of_the_url_map_is_reserved(app):
    reserved = reserved_slugs()
    for rule in app.url_map.iter_rules():
        first = rule.rule.lstrip("/").split("/")[0]
        if first and not first.startswith("<"):
            assert first in reserved, rule.rule
    assert {"static", "reset", "alliance", "login", "api", "admin", "healthz", "www"} <= reserved
    assert slug_problem("france-clusters") is None


@pytest.mark.parametrize("slug", ["static", "reset", "alliance", "login", "api", "healthz"])
def test_reserved_slug_is_a_field_error(make, sign_in, session, slug):
    alliance = sign_in(make.user(None, role="alliance_admin"))
    response = alliance.post("/alliance/associations/new", data=_form(slug))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "is a word the site" in text and "choose another short name" in text
    assert session.scalar(select(Tenant).where(Tenant.slug == slug)) is None


@pytest.mark.parametrize("slug", ["Upper", "-dash", "a", "with space"])
def test_badly_shaped_slug_is_a_field_error(make, sign_in, slug):
    alliance = sign_in(make.user(None, role="alliance_admin"))
    response = alliance.post("/alliance/associations/new", data=_form(slug))
    assert response.status_code == 422
    assert "lower-case letters, digits and hyphens" in response.get_data(as_text=True)


def test_cli_refuses_a_reserved_slug(app, session):
    result = app.test_cli_runner().invoke(
        args=["crm", "create-tenant", "--slug", "login", "--name", "X", "--country", "FR"]
    )
    assert result.exit_code != 0 and "site's own addresses" in result.output
    assert session.scalar(select(Tenant).where(Tenant.slug == "login")) is None
