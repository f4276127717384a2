"""In a real browser: the secretariat finds the overdue members, renews one with
a payment (correcting a negative amount first), sees it on the organisation's
page and timeline, and notes the call in place."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from babel.dates import format_date

from crm.extensions import db
from crm.renewals.services import add_months
from tests.conftest import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser


def test_secretariat_renews_an_overdue_member_in_the_browser(committed_app, page, console_errors):
    today = date.today()
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-renewals", country="PL", name="Klastry Polskie")
        user = make.user(tenant, role="secretariat", email="secretariat@renewals.example")
        late = make.org(tenant, name="Gdańsk Robotics")
        make.membership(
            late,
            status="active",
            paid_until=today - timedelta(days=12),
            fee_amount=800,
            fee_currency="PLN",
        )
        make.contact(late, first_name="Ewa", last_name="Lis", is_primary=True)
        soon = make.org(tenant, name="Kraków Photonics")
        make.membership(soon, status="active", paid_until=today + timedelta(days=9))
        slug, email = tenant.slug, user.email
        db.session.commit()
    failed = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)

    sign_in(page, email)
    page.wait_for_url(f"**/{slug}/dashboard")
    assert page.locator("#outstanding").inner_text() == "PLN800.00"
    page.get_by_role("link", name="Renewals", exact=True).click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "12 days overdue" in rows.first.inner_text()
    assert "Gdańsk Robotics" in rows.first.inner_text()
    rows.first.get_by_role("link", name="Renew").click()

    # A negative amount: a field error, the form again; then the right amount.
    assert page.get_by_label("Amount").input_value() == "800.00"
    page.get_by_label("Amount").fill("-800")
    page.get_by_label("Method").select_option("transfer")
    page.get_by_label("Reference").fill("FV/2026/123")
    page.get_by_role("button", name="Record payment").click()
    assert "zero or more" in page.locator("#amount-error").inner_text()
    page.get_by_label("Amount").fill("800")
    page.get_by_role("button", name="Record payment").click()
    page.wait_for_url("**/members/*#payments")
    paid_until = add_months(today - timedelta(days=12), 12)
    assert page.locator("#paid-until").inner_text() == format_date(paid_until, locale="en")
    assert page.get_by_role("cell", name="PLN800.00").is_visible()
    timeline = page.locator("#timeline")
    assert timeline.get_by_text("Payment: PLN800.00 (Bank transfer)").is_visible()

    # Note the call in place, with the contact.
    page.get_by_text("Add a note, call or meeting").click()
    page.locator("#timeline").get_by_label("Kind").select_option("call")
    page.get_by_label("Subject").fill("Thanked them for renewing")
    page.get_by_label("With").select_option(label="Ewa Lis")
    page.locator("#timeline").get_by_role("button", name="Add").click()
    page.wait_for_url("**#timeline")
    assert timeline.get_by_text("Call: Thanked them for renewing").is_visible()
    assert timeline.get_by_text("with Ewa Lis").is_visible()

    # The overdue list is empty now; the member is not due either.
    page.get_by_role("link", name="Renewals", exact=True).click()
    assert page.get_by_text("Nothing here").is_visible()

    unexpected = [f for f in failed if f[0] != 422 and not f[1].endswith("/favicon.ico")]
    assert not unexpected, unexpected
    assert [f[0] for f in failed].count(422) == 1
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
