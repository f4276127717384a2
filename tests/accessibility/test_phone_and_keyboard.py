"""A phone (390×844) and a keyboard: no page wider than the screen, a menu
button for the navigation, and the directory filtered without a mouse."""

from __future__ import annotations

import pytest
from sqlalchemy import and_, select

from crm.extensions import db
from crm.tenancy import tenant_scope
from tests.accessibility.conftest import LOGINS, PASSWORD, SLUG, in_language_of_demo, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def overflow(page) -> int:
    """How many pixels the page is wider than the screen (0: no horizontal scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_a_phone_never_scrolls_sideways(demo_site, browser):
    context = browser.new_context(base_url=demo_site.url, viewport=PHONE, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, LOGINS["secretariat"])
    page.wait_for_url(f"**/{SLUG}/dashboard")
    assert overflow(page) == 0

    # The navigation sits behind a menu button that says whether it is open.
    menu = page.get_by_role("button", name=in_language_of_demo(demo_site.app, "Menu"))
    members = page.get_by_role(
        "link", name=in_language_of_demo(demo_site.app, "Members"), exact=True
    )
    assert menu.get_attribute("aria-expanded") == "false" and not members.is_visible()
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true" and members.is_visible()
    assert overflow(page) == 0
    members.click()

    page.wait_for_url(f"**/{SLUG}/members")
    assert overflow(page) == 0
    # The directory's table scrolls in its own box, which the keyboard can reach.
    box = page.locator(".table-scroll", has=page.locator("#directory"))
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    assert box.get_attribute("tabindex") == "0"

    page.goto(f"/{SLUG}/projects")
    assert overflow(page) == 0
    page.locator("main table tbody a").first.click()
    page.wait_for_url(f"**/{SLUG}/projects/*")
    assert page.locator("main table").count() > 0  # the consortium
    assert overflow(page) == 0
    context.close()


def focused(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement; const s = getComputedStyle(e);
        return {tag: e.tagName, id: e.id, name: e.name || '', text: e.textContent.trim(),
                type: e.type || '', outline: s.outlineStyle,
                width: parseFloat(s.outlineWidth)}; }"""
    )


def tab_to(page, matches, limit: int = 150, key: str = "Tab") -> dict:
    """Press Tab (or ``key``) until the focused element ``matches``; each stop shows
    a focus ring."""
    for _ in range(limit):
        page.keyboard.press(key)
        element = focused(page)
        assert element["outline"] != "none" and element["width"] >= 2, element
        if matches(element):
            return element
    raise AssertionError("never reached by Tab")


def _an_organisation_with_a_region_and_an_ecosystem(app) -> tuple[str, str, int]:
    from crm.models import Organisation, Tenant, organisation_ecosystems

    with app.app_context():
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        with tenant_scope(tenant_id):
            ecosystem = organisation_ecosystems.c.ecosystem_id
            row = db.session.execute(
                select(Organisation.name, Organisation.nuts2, ecosystem)
                .join(
                    organisation_ecosystems,
                    and_(
                        organisation_ecosystems.c.tenant_id == Organisation.tenant_id,
                        organisation_ecosystems.c.organisation_id == Organisation.id,
                    ),
                )
                .where(
                    Organisation.nuts2.is_not(None),
                    Organisation.archived.is_(False),
                    Organisation.is_external.is_(False),
                )
                .order_by(Organisation.id)
                .limit(1)
            ).one()
        db.session.remove()
    return row.name, row.nuts2, row.ecosystem_id


def test_the_keyboard_alone_signs_in_filters_the_directory_and_opens_an_organisation(
    demo_site, browser
):
    name, region, ecosystem = _an_organisation_with_a_region_and_an_ecosystem(demo_site.app)
    context = browser.new_context(base_url=demo_site.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login")

    # The first stop is the skip link; then the form.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to content"
    tab_to(page, lambda e: e["id"] == "email" or e["type"] == "email")
    page.keyboard.type(LOGINS["secretariat"])
    tab_to(page, lambda e: e["type"] == "password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/{SLUG}/dashboard")

    # Skip to content, then back to the navigation for the directory.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "content"
    members = in_language_of_demo(demo_site.app, "Members")
    tab_to(page, lambda e: e["tag"] == "A" and e["text"] == members, key="Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/{SLUG}/members")

    # Arrow keys on a filter choose a value; they do not reload the page.
    page.evaluate("window.notReloaded = true")
    tab_to(page, lambda e: e["name"] == "ecosystem")
    for _ in range(60):
        if page.locator("select[name=ecosystem]").input_value() == str(ecosystem):
            break
        page.keyboard.press("ArrowDown")
    assert page.locator("select[name=ecosystem]").input_value() == str(ecosystem)
    assert page.evaluate("window.notReloaded === true")

    region_field = tab_to(page, lambda e: e["name"] == "region")
    if region_field["tag"] == "SELECT":  # a list of regions by name
        for _ in range(400):
            if page.locator("select[name=region]").input_value() == region:
                break
            page.keyboard.press("ArrowDown")
    else:
        page.keyboard.type(region)
    assert page.evaluate("window.notReloaded === true")
    tab_to(page, lambda e: e["type"] == "submit")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/{SLUG}/members?*region=*")
    assert f"ecosystem={ecosystem}" in page.url

    tab_to(page, lambda e: e["tag"] == "A" and e["text"] == name, limit=300)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/{SLUG}/members/*")
    assert page.locator("h1").inner_text().strip().startswith(name)
    context.close()
