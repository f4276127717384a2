"""In a real browser, the secretariat's round of renewals: find the overdue
members, renew one with a payment, open the rest of the list in the directory,
save it as a segment, tag it, and send it a reminder mailing, watching the
progress while a real rq worker sends it to a real SMTP server."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm.extensions import db
from tests.conftest import serving, sign_in
from tests.factories import Factories
from tests.mailings.conftest import sending_app
from tests.mailings.test_sending import work

pytestmark = pytest.mark.browser

OVERDUE = {"Bilbao Robotics": 20, "Sevilla Foods": 35, "Valencia Ceramics": 50}


def _seed(app) -> tuple[str, str]:
    today = date.today()
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="browser-reminders", country="ES", name="Clusters de España")
        user = make.user(tenant, role="secretariat", email="secretariat@reminders.example")
        for i, (name, days) in enumerate(OVERDUE.items()):
            org = make.org(tenant, name=name)
            make.membership(
                org, paid_until=today - timedelta(days=days), fee_amount=500, fee_currency="EUR"
            )
            make.contact(org, first_name=f"Ana{i}", email=f"ana{i}@example.es", is_primary=True)
        ahead = make.org(tenant, name="Madrid Optics")
        make.membership(ahead, paid_until=today + timedelta(days=200))
        make.contact(ahead, first_name="Luis", email="luis@example.es")
        identity = tenant.slug, user.email  # read before the commit expires them (RLS)
        db.session.commit()
        return identity


def test_secretariat_reminds_the_overdue_members(make_app, database_urls, redis_url, browser):
    with sending_app(make_app, database_urls, redis_url) as app, serving(app) as url:
        slug, email = _seed(app)
        context = browser.new_context(base_url=url)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("dialog", lambda dialog: dialog.accept())  # "Send this mailing now?"
        failed = []
        page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)

        # The overdue members; one renews with a payment.
        sign_in(page, email)
        page.wait_for_url(f"**/{slug}/dashboard")
        page.get_by_role("link", name="Renewals", exact=True).click()
        assert page.locator("tbody tr").count() == 3
        page.locator("tbody tr", has_text="Bilbao Robotics").get_by_role(
            "link", name="Renew"
        ).click()
        page.get_by_label("Amount").fill("500")
        page.get_by_label("Method").select_option("transfer")
        page.get_by_role("button", name="Record payment").click()
        page.wait_for_url("**/members/*#payments")
        page.get_by_role("link", name="Renewals", exact=True).click()
        assert page.locator("tbody tr").count() == 2

        # The rest of the list in the directory, saved as a segment.
        page.get_by_role("link", name="Open in the directory").click()
        assert page.locator("#renewal-filter").is_visible()
        directory = page.locator("#directory tbody tr")
        names = " ".join(directory.all_inner_texts())
        assert directory.count() == 2 and "Sevilla Foods" in names and "Valencia" in names
        page.get_by_text("Act on selected rows…").click()
        page.get_by_role("link", name="Save these filters as a segment").click()
        page.get_by_label("Name").fill("Overdue in December")
        page.get_by_role("button", name="Save segment").click()
        page.wait_for_url("**/segments")

        # Tag everyone in the segment.
        page.get_by_role("link", name="Overdue in December").click()
        assert page.locator("#directory tbody tr").count() == 2
        page.get_by_text("Act on selected rows…").click()
        page.get_by_label("Select all 2 matching").check()
        page.get_by_label("Action").select_option("tag")
        page.get_by_label("Tag (tag, untag)").fill("reminded-december")
        page.get_by_role("button", name="Apply").click()
        page.get_by_role("link", name="Sevilla Foods").click()
        assert page.get_by_text("reminded-december").first.is_visible()
        page.go_back()

        # A reminder mailing to the segment, sent by the worker while we watch.
        page.get_by_text("Act on selected rows…").click()
        page.get_by_role("link", name="Add to a mailing").click()
        assert page.get_by_text("Segment “Overdue in December”").is_visible()
        page.get_by_label("Name (for you; recipients do not see it)").fill("December reminder")
        page.get_by_label("What it is for").select_option("membership")
        page.get_by_label("Subject").fill("{{ organisation }}: your membership")
        page.get_by_label("Message").fill(
            "Dear {{ contact.first_name }},\nyour membership was paid until {{ renewal_date }}."
        )
        page.get_by_role("button", name="Save as draft").click()
        page.get_by_role("button", name="Send now").click()
        progress = page.locator(".job-progress")
        assert progress.get_attribute("data-status") == "queued"
        work(app)  # a real rq worker, in this process, until the queue is empty
        # The page polls the run, moves the bar, and reloads once it has ended.
        progress.wait_for(state="detached", timeout=20_000)
        assert page.locator("h1 + p .badge").inner_text() == "Sent"

        delivered = {m["To"]: m for m in app.inbox.messages}
        assert set(delivered) == {"ana1@example.es", "ana2@example.es"}
        assert delivered["ana1@example.es"]["Subject"] == "Sevilla Foods: your membership"
        assert delivered["ana1@example.es"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unexpected = [f for f in failed if not f[1].endswith("/favicon.ico")]
        assert not unexpected, unexpected
        context.close()
