"""Fixtures for the members tests: an association with a secretariat user signed in."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture
def signed_in(app):
    """``signed_in(user)``: a client whose session already names ``user`` (no argon2)."""

    def do(user):
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return client

    return do


@pytest.fixture
def assoc(make, signed_in):
    """Tenant ``assoc-fr`` (France) with a secretariat user and a signed-in client."""
    tenant = make.tenant(slug="assoc-fr", country="FR", name="Clusters de France")
    user = make.user(tenant, role="secretariat")
    return SimpleNamespace(
        tenant=tenant, user=user, client=signed_in(user), url=f"/{tenant.slug}"
    )
