"""In a real browser, as a Polish, a Spanish and a Bulgarian secretariat: the
interface in their language, a name found without its accents, a number typed
as they write it, and the directory in their alphabet's order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.i18n import _, force_locale
from crm.models import AssociationMembership
from crm.tenancy import tenant_scope
from tests.conftest import sign_in
from tests.factories import Factories

pytestmark = pytest.mark.browser

WALKS = {
    # Polish: Ł after L, Ż and Ź after Z.
    "pl": {
        "country": "PL",
        "names": ["Żywność Polska", "Zamość Agro", "Łódź Textile Cluster", "Lublin Tech"],
        "order": ["Lublin Tech", "Łódź Textile Cluster", "Zamość Agro", "Żywność Polska"],
        "query": "lodz",
        "found": "Łódź Textile Cluster",
        "typed": "1 234,5",
        "amount": Decimal("1234.50"),
    },
    # Spanish: Ñ after N; "8.500.000" groups thousands with dots.
    "es": {
        "country": "ES",
        "names": ["Pérez Robótica", "Ñandú Digital", "Oviedo Metal", "Nube Textil"],
        "order": ["Nube Textil", "Ñandú Digital", "Oviedo Metal", "Pérez Robótica"],
        "query": "perez",
        "found": "Pérez Robótica",
        "typed": "8.500.000",
        "amount": Decimal("8500000.00"),
    },
    # Bulgarian: the Cyrillic alphabet's order, a search in lower case.
    "bg": {
        "country": "BG",
        "names": ["Ямбол Текстил", "Шумен Вино", "София Тех", "Русе Агро"],
        "order": ["Русе Агро", "София Тех", "Шумен Вино", "Ямбол Текстил"],
        "query": "софия",
        "found": "София Тех",
        "typed": "1 234,5",
        "amount": Decimal("1234.50"),
    },
}


def _in(app, language: str, text: str) -> str:
    with app.test_request_context(), force_locale(language):
        return _(text)


@pytest.mark.parametrize("language", sorted(WALKS))
def test_a_secretariat_works_in_its_own_language(committed_app, page, language):
    walk = WALKS[language]
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug=f"walk-{language}", country=walk["country"])
        user = make.user(tenant, email=f"secretariat@walk-{language}.example", language=None)
        orgs = {name: make.org(tenant, name=name) for name in walk["names"]}
        first = orgs[walk["names"][0]]
        make.membership(first)
        slug, email, tenant_id, first_id = tenant.slug, user.email, tenant.id, first.id
        db.session.commit()
    members = _in(committed_app, language, "Members")
    assert members != "Members", f"no {language} catalogue"

    # The interface speaks the association's language.
    sign_in(page, email)
    page.wait_for_url(f"**/{slug}/dashboard")
    assert page.locator("html").get_attribute("lang") == language
    page.get_by_role("link", name=members, exact=True).first.click()
    page.wait_for_url(f"**/{slug}/members")

    # The directory in the language's alphabetical order.
    rows = page.locator("table tbody tr td:nth-child(2) > a").all_inner_texts()
    assert [name for name in rows if name in orgs] == walk["order"]

    # A name found without its accents, by the search box.
    box = page.locator("input[name=q]")
    box.fill(walk["query"])
    box.press("Enter")
    page.wait_for_url(f"**/{slug}/members?*q=*")
    found = page.locator("table tbody tr td:nth-child(2) > a").all_inner_texts()
    assert found == [walk["found"]]

    # A number typed as the language writes it.
    page.goto(f"/{slug}/members/{first_id}/terms")
    page.locator("input[name=fee_amount]").fill(walk["typed"])
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"**/{slug}/members/{first_id}*")
    with committed_app.app_context(), tenant_scope(tenant_id):
        amount = db.session.scalar(
            select(AssociationMembership.fee_amount).where(
                AssociationMembership.organisation_id == first_id
            )
        )
        db.session.remove()
    assert amount == walk["amount"]
