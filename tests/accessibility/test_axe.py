"""axe-core over every page of every role: no serious or critical violation.

The pages come from the app's URL map, not from a list: each role starts from
every GET route that needs no argument but the association, then follows the
links of the pages it sees to fill the routes that need an id (one page per
route and role). A route that no role reaches fails the coverage test, so a new
page is checked as soon as it exists, or the test says which data it lacks."""

from __future__ import annotations

import re
from collections import Counter
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from werkzeug.exceptions import HTTPException

from tests.accessibility.conftest import LOGINS, SLUG, in_language_of_demo, sign_in

pytestmark = pytest.mark.browser

# WCAG 2.1 A and AA, and axe's best practices (landmarks, headings, scrollable regions).
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
FAILING_IMPACTS = {"serious", "critical"}
# Pages looked at by each role beyond the first of a route, for their links only
# (a member page without payments does not lead to a payment).
MORE_LINKS_PER_ROUTE = 8

# Routes that answer with data, not a page: files, exports, JSON for polling.
NOT_PAGES = re.compile(
    r"^/static/|/healthz$|\.<[^>]*fmt>$|\.(csv|xlsx|json)$|/status(\.json)?$|/file$"
)
# Routes with a page's address that answer otherwise, and why.
NOT_PAGE_ENDPOINTS = {
    "cordis.grant": "JSON for the project form's pre-fill",
    "members.suggestions": "JSON for the directory's suggestions as you type",
    "segments.show": "a redirect to the list with the segment's filters",
}


def page_rules(app) -> dict[str, str]:
    """Every GET route that renders a page: endpoint → rule."""
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not NOT_PAGES.search(rule.rule)
        and rule.endpoint not in NOT_PAGE_ENDPOINTS
    }


def start_paths(app, pages: dict[str, str], slug: str | None) -> list[str]:
    """The pages that need no argument, or only the association's slug."""
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in pages or rule.rule != pages[rule.endpoint]:
            continue
        if not rule.arguments:
            paths.append(rule.rule)
        elif rule.arguments == {"tenant"} and slug:
            paths.append(rule.rule.replace("<tenant>", slug))
    return sorted(paths)


def endpoint_of(adapter, path: str) -> str | None:
    try:
        endpoint, _args = adapter.match(path, method="GET")
    except HTTPException:
        return None
    return endpoint


def crawl(page, app, pages: dict[str, str], starts: list[str], origin: str) -> dict:
    """Visit one page per route, following links: {endpoint: (path, violations)}."""
    adapter = app.url_map.bind("localhost")
    axe = Axe()
    seen: dict[str, tuple[str, list[str]]] = {}
    more: Counter[str] = Counter()
    queue = list(starts)
    tried: set[str] = set()
    while queue:
        path = queue.pop(0)
        endpoint = endpoint_of(adapter, path)
        if path in tried or endpoint not in pages:
            continue
        if endpoint in seen and more[endpoint] >= MORE_LINKS_PER_ROUTE:
            continue
        tried.add(path)
        response = page.request.get(path, max_redirects=0)
        if response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue  # not this role's page, or not a page
        if endpoint in seen:  # only its links
            more[endpoint] += 1
            queue.extend(links_in(response.text(), origin + path, origin))
            continue
        page.goto(path)
        seen[endpoint] = (path, check(page, axe))
        queue.extend(links_in(page.content(), page.url, origin))
    return seen


LINK = re.compile(r'<(?:a|form)\b(?![^>]*\bdownload\b)[^>]*\b(?:href|action)="([^"]*)"')


def links_in(html: str, base: str, origin: str) -> list[str]:
    """This site's pages that ``html`` links to (or posts to: a route may show
    its form on GET), without downloads."""
    out = []
    for target in LINK.findall(html):
        parts = urlsplit(urljoin(base, unescape(target)))
        if f"{parts.scheme}://{parts.netloc}" == origin:
            out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


DESKTOP = {"width": 1280, "height": 800}
WIDER = "document.documentElement.scrollWidth - window.innerWidth"
PHONE = {"width": 390, "height": 844}


def check(page, axe) -> list[str]:
    """axe on the page as a desktop shows it, then as a phone (collapsed menu,
    tables scrolling in their boxes); neither may scroll sideways."""
    found = []
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_function(f"() => window.innerWidth === {size['width']}")
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")
        results = axe.run(page, options=AXE_OPTIONS).response
        found += [f"{name}: {line}" for line in describe(results["violations"])]
        try:  # charts redraw for the new width a moment after the resize
            page.wait_for_function(f"() => {WIDER} <= 0", timeout=3000)
        except PlaywrightTimeout:
            pass
        wider = page.evaluate(WIDER)
        if wider > 0:
            found.append(f"{name}: the page is {wider} px wider than the screen")
    page.set_viewport_size(DESKTOP)
    return found


def describe(violations: list[dict]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in violations
        if v["impact"] in FAILING_IMPACTS
    ]


@pytest.fixture(scope="module")
def visits(demo_site, browser) -> dict[str, dict]:
    """Every role's crawl, once: {role: {endpoint: (path, violations)}}."""
    app = demo_site.app
    pages = page_rules(app)
    out = {}
    for role in ["anonymous", *LOGINS]:
        context = browser.new_context(base_url=demo_site.url, viewport=DESKTOP)
        page = context.new_page()
        page.set_default_timeout(15_000)
        slug = None
        starts = demo_site.staff_paths
        if role == "anonymous":
            starts = demo_site.public_paths
        else:
            sign_in(page, LOGINS[role])
            slug = None if role.startswith("alliance") else SLUG
        starts = start_paths(app, pages, slug) + starts
        out[role] = crawl(page, app, pages, starts, demo_site.url)
        context.close()
    return out


@pytest.mark.parametrize("role", ["anonymous", *LOGINS])
def test_no_serious_or_critical_violation(visits, role):
    failures = {path: found for path, found in visits[role].values() if found}
    assert visits[role], f"{role} saw no page"
    assert not failures, "\n".join(
        f"{path}\n  " + "\n  ".join(found) for path, found in failures.items()
    )


def test_every_page_is_checked(demo_site, visits):
    checked = {endpoint for seen in visits.values() for endpoint in seen}
    missing = sorted(set(page_rules(demo_site.app)) - checked)
    assert not missing, f"pages no role reached (add the data or a link): {missing}"


# Forms sent empty or wrong come back with their errors: the errors must be as
# accessible as the form (named fields, aria-invalid, the message linked).
FORMS_WITH_ERRORS = [
    (None, "/login", "Sign in"),
    ("secretariat", f"/{SLUG}/members/new", "Add member"),
    ("secretariat", f"/{SLUG}/projects/new", "Record project"),
    ("tenant_admin", f"/{SLUG}/users/new", None),
]


@pytest.mark.parametrize(("role", "path", "button"), FORMS_WITH_ERRORS)
def test_forms_with_errors(demo_site, browser, role, path, button):
    context = browser.new_context(base_url=demo_site.url, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    if role:
        sign_in(page, LOGINS[role])
    page.goto(path)
    form = page.locator("main form[method=post]").last
    if role is None:
        page.get_by_label("E-mail").fill("nobody@example.org")
    # Signed in, the demo's users read their association's language (French).
    label = in_language_of_demo(demo_site.app, button) if role and button else button
    submit = form.get_by_role("button", name=label) if button else form.locator("[type=submit]")
    submit.first.click()
    page.wait_for_load_state()
    assert page.locator("[aria-invalid=true], [role=alert]").count() > 0, "no error shown"
    found = check(page, Axe())
    context.close()
    assert not found, "\n".join(found)
