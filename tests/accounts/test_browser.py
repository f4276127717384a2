"""In a real browser: sign in, add a user, open their one-time link, set a password."""

from __future__ import annotations

import pytest

from crm.extensions import db
from tests.conftest import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser


def test_admin_adds_a_user_who_sets_a_password(committed_app, page, console_errors):
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-assoc", name="Browser Association")
        admin = make.user(tenant, role="tenant_admin", email="admin@browser.example")
        slug, admin_email = tenant.slug, admin.email
        db.session.commit()

    sign_in(page, admin_email)
    page.goto(f"/{slug}/users/new")
    page.get_by_label("E-mail").fill("newcomer@browser.example")
    page.get_by_label("Name").fill("New Comer")
    page.get_by_label("Role").select_option("secretariat")
    page.get_by_role("button", name="Add user").click()
    link = page.get_by_label("Link").input_value()
    assert "/reset/" in link

    page.context.clear_cookies()
    page.goto(link)
    page.locator("#new_password").fill("a brand new long password")
    page.get_by_label("New password again").fill("a brand new long password")
    page.get_by_role("button", name="Set password").click()
    page.get_by_label("E-mail").fill("newcomer@browser.example")
    page.get_by_label("Password").fill("a brand new long password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("New Comer").first.is_visible()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
