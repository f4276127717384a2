"""The dashboard's money: received this year and outstanding, against an
independent computation; its statement count does not grow with payments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from crm.members import queries
from crm.tenancy import tenant_scope

TODAY = date(2026, 6, 15)


def test_received_and_outstanding_match_their_definitions(assoc, make, session):
    t = assoc.tenant
    payments = []  # (paid_on, amount, currency)

    def pay(membership, amount, paid_on, currency="EUR"):
        make.payment(membership, amount, paid_on=paid_on, currency=currency)
        payments.append((paid_on, Decimal(amount), currency))

    memberships = []  # (status, paid_until, fee, currency, archived)

    def member(status, paid_until, fee=None, currency="EUR", archived=False):
        org = make.org(t, archived=archived)
        memberships.append((status, paid_until, fee and Decimal(fee), currency, archived))
        return make.membership(
            org, status=status, paid_until=paid_until, fee_amount=fee, fee_currency=currency
        )

    late = member("active", TODAY - timedelta(days=1), "500.00")
    pay(late, "450.00", date(2026, 1, 1))
    pay(late, "475.50", TODAY)
    pay(late, "400.00", date(2025, 12, 31))  # last year
    pay(late, "10.00", TODAY + timedelta(days=1))  # dated after today
    never = member("active", None, "1200.00", "PLN")
    pay(never, "300.00", date(2026, 3, 3), "PLN")
    member("active", TODAY - timedelta(days=100))  # overdue, no fee recorded
    member("active", TODAY, "999.00")  # due today: not overdue
    member("lapsed", TODAY - timedelta(days=400), "800.00")  # lapsed: not outstanding
    gone = member("active", TODAY - timedelta(days=5), "700.00", archived=True)
    pay(gone, "70.00", date(2026, 2, 2))  # received all the same
    other = make.tenant(slug="assoc-other")
    elsewhere = make.membership(make.org(other), status="active", paid_until=date(2020, 1, 1))
    make.payment(elsewhere, "5000.00", paid_on=date(2026, 2, 2))
    session.flush()

    received: dict[str, Decimal] = {}
    for paid_on, amount, currency in payments:
        if date(TODAY.year, 1, 1) <= paid_on <= TODAY:
            received[currency] = received.get(currency, Decimal(0)) + amount
    outstanding: dict[str, Decimal] = {}
    without_fee = 0
    for status, paid_until, fee, currency, archived in memberships:
        overdue = status == "active" and (paid_until is None or paid_until < TODAY)
        if archived or not overdue:
            continue
        if fee is None:
            without_fee += 1
        else:
            outstanding[currency] = outstanding.get(currency, Decimal(0)) + fee

    with tenant_scope(t.id):
        figures = queries.dashboard_figures(t.id, TODAY)
    assert figures["received"] == received == {"EUR": Decimal("995.50"), "PLN": Decimal("300")}
    assert figures["outstanding"] == outstanding == {"EUR": Decimal(500), "PLN": Decimal(1200)}
    assert figures["overdue_without_fee"] == without_fee == 1
    assert figures["renewals"]["overdue"] == 3 and figures["renewals"]["due"] == 1


def test_dashboard_shows_the_money_and_its_statements_stay_bounded(assoc, make, count_queries):
    today = date.today()

    def run():
        with count_queries() as counter:
            response = assoc.client.get(f"{assoc.url}/dashboard")
        assert response.status_code == 200
        return counter.count, response.get_data(as_text=True)

    late = make.membership(
        make.org(assoc.tenant, name="Late"),
        status="active",
        paid_until=today - timedelta(days=3),
        fee_amount=150,
    )
    make.payment(late, "42.00", paid_on=today)
    soon = make.org(assoc.tenant, name="Soon Due")
    make.membership(soon, status="active", paid_until=today + timedelta(days=2))
    few, html = run()
    assert 'id="received">€42.00' in html and 'id="outstanding">€150.00' in html
    due_box = html[html.index('id="due-soon"') :]
    assert "Soon Due" in due_box[: due_box.index("</ul>")] and "in 2 days" in due_box
    assert "Late" not in due_box[: due_box.index("</ul>")]  # overdue: not "due soon"
    for n in range(15):
        membership = make.membership(
            make.org(assoc.tenant), paid_until=today - timedelta(days=n), fee_amount=10
        )
        make.payment(membership, "5.00", paid_on=today, currency=("EUR", "CZK", "PLN")[n % 3])
    many, html = run()
    assert many == few
    assert "CZK25.00" in html  # five of the fifteen
