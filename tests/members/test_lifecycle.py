"""Membership lifecycle: status changes with reason and date, history, renewal lists, dashboard."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crm.models import AssociationMembership, MembershipStatusChange


def change(assoc, org_id, status, on="2025-01-15", reason="Board decision"):
    return assoc.client.post(
        f"{assoc.url}/members/{org_id}/status",
        data={"status": status, "effective_on": on, "reason": reason},
    )


def membership(assoc, org_id) -> AssociationMembership:
    return assoc.scalars(
        select(AssociationMembership).where(AssociationMembership.organisation_id == org_id)
    )[0]


def test_status_changes_are_kept_as_history(assoc, make):
    org_id = make.org(assoc.tenant, name="Newcomer").id
    assert (
        change(assoc, org_id, "applicant", "2024-11-01", "Application received").status_code == 302
    )
    assert change(assoc, org_id, "active", "2025-01-01", "Admitted by the board").status_code == 302
    m = membership(assoc, org_id)
    assert m.status == "active" and m.joined_on == date(2025, 1, 1)
    assert change(assoc, org_id, "lapsed", "2026-02-01", "Fee unpaid").status_code == 302
    m = membership(assoc, org_id)
    assert m.status == "lapsed" and m.left_on == date(2026, 2, 1)
    history = assoc.scalars(
        select(MembershipStatusChange)
        .where(MembershipStatusChange.membership_id == m.id)
        .order_by(MembershipStatusChange.id)
    )
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "applicant"),
        ("applicant", "active"),
        ("active", "lapsed"),
    ]
    assert history[-1].reason == "Fee unpaid" and history[-1].changed_by_id == assoc.user.id
    html = assoc.client.get(f"{assoc.url}/members/{org_id}").get_data(as_text=True)
    assert "Fee unpaid" in html and "Admitted by the board" in html
    assert html.index("Fee unpaid") < html.index("Admitted by the board")  # newest first
    # Rejoining after lapsing starts a new membership period.
    change(assoc, org_id, "active", "2026-06-01", "Paid again")
    m = membership(assoc, org_id)
    assert m.joined_on == date(2026, 6, 1) and m.left_on is None


def test_status_change_needs_status_date_and_reason(assoc, make):
    org_id = make.org(assoc.tenant).id
    for data, field in (
        ({"status": "", "effective_on": "2025-01-01", "reason": "x"}, "status"),
        ({"status": "active", "effective_on": "", "reason": "x"}, "effective_on"),
        ({"status": "active", "effective_on": "not a date", "reason": "x"}, "effective_on"),
        ({"status": "active", "effective_on": "2025-01-01", "reason": ""}, "reason"),
        ({"status": "gold", "effective_on": "2025-01-01", "reason": "x"}, "status"),
    ):
        response = assoc.client.post(f"{assoc.url}/members/{org_id}/status", data=data)
        assert response.status_code == 422
        assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert assoc.count(AssociationMembership) == 0


def test_same_status_twice_is_refused(assoc, make):
    org = make.org(assoc.tenant)
    make.membership(org, status="active")
    response = change(assoc, org.id, "active")
    assert response.status_code == 422
    assert "already Active" in response.get_data(as_text=True)
    assert assoc.count(MembershipStatusChange) == 0


def test_fee_tier_and_paid_until(assoc, make):
    org = make.org(assoc.tenant)
    make.membership(org)
    org_id = org.id
    response = assoc.client.post(
        f"{assoc.url}/members/{org_id}/terms",
        data={"fee_tier": "reduced", "paid_until": "2026-12-31"},
    )
    assert response.status_code == 302
    m = membership(assoc, org_id)
    assert (m.fee_tier, m.paid_until) == ("reduced", date(2026, 12, 31))
    bad = assoc.client.post(
        f"{assoc.url}/members/{org_id}/terms", data={"fee_tier": "platinum", "paid_until": "x"}
    )
    assert bad.status_code == 422


def test_terms_without_membership_redirects_to_status(assoc, make):
    org_id = make.org(assoc.tenant).id
    response = assoc.client.get(f"{assoc.url}/members/{org_id}/terms")
    assert response.status_code == 302 and response.headers["Location"].endswith("/status")


def test_renewal_lists(assoc, make):
    """The page's tabs over the same rows; the selection itself is checked
    against an independent computation in tests/renewals/test_lists.py."""
    today = date.today()
    due = make.org(assoc.tenant, name="Due Soon")
    make.membership(due, status="active", paid_until=today + timedelta(days=10))
    late = make.org(assoc.tenant, name="Seven Weeks Late")
    make.membership(late, status="active", paid_until=today - timedelta(days=49))
    unknown = make.org(assoc.tenant, name="Never Paid")
    make.membership(unknown, status="active")
    paid = make.org(assoc.tenant, name="Paid Ahead")
    make.membership(paid, status="active", paid_until=today + timedelta(days=300))
    lapsed = make.org(assoc.tenant, name="Gone Quiet")
    make.membership(lapsed, status="lapsed")
    applicant = make.org(assoc.tenant, name="Knocking")
    make.membership(applicant, status="applicant")
    archived = make.org(assoc.tenant, name="Archived Due", archived=True)
    make.membership(archived, status="active")

    def listed(which):
        html = assoc.client.get(f"{assoc.url}/renewals?list={which}").get_data(as_text=True)
        return html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""

    overdue_html = listed("overdue")
    assert "Seven Weeks Late" in overdue_html and "49 days overdue" in overdue_html
    assert "Never Paid" in overdue_html and "no payment recorded" in overdue_html
    assert overdue_html.index("Never Paid") < overdue_html.index("Seven Weeks Late")
    assert "Due Soon" not in overdue_html and "Archived Due" not in overdue_html
    due_html = listed("due")
    assert "Due Soon" in due_html and "10 days left" in due_html
    assert "Seven Weeks Late" not in due_html and "Paid Ahead" not in due_html
    assert "Gone Quiet" in listed("lapsed") and "Due Soon" not in listed("lapsed")
    assert "Knocking" in listed("applicants")
    assert assoc.client.get(f"{assoc.url}/renewals?list=bogus&page=x").status_code == 200
    assert assoc.client.get(f"{assoc.url}/renewals?list=due&days=-4").status_code == 200


def test_dashboard_figures_and_bounded_queries(assoc, make, session, count_queries):
    from crm.models import Ecosystem

    health = session.scalars(select(Ecosystem).where(Ecosystem.code.contains("health"))).first()
    health = health or session.scalars(select(Ecosystem)).first()

    def run():
        with count_queries() as counter:
            response = assoc.client.get(f"{assoc.url}/dashboard")
        assert response.status_code == 200
        return counter.count, response.get_data(as_text=True)

    empty_count, html = run()
    assert "No members yet" in html
    for n in range(3):
        firm = make.org(assoc.tenant, name=f"Firm {n}", employees=3, turnover_eur=10)
        firm.ecosystems.append(health)
        make.membership(firm, status="active")
    make.membership(make.org(assoc.tenant, kind="university"), status="applicant")
    make.cluster(assoc.tenant)
    org_id = make.org(assoc.tenant, name="Changer").id
    change(assoc, org_id, "active", reason="Joined at the assembly")
    few, html = run()
    assert 'data-chart="bar"' in html and "chart.umd.min.js" in html
    assert f"[{', '.join(['0'] * (health.id - 1) + ['3'])}" in html.replace("&#34;", '"')
    assert "Changer" in html  # recent changes
    assert '<span class="value">6</span>' in html  # organisations in total
    for _ in range(20):
        make.membership(make.org(assoc.tenant), status="lapsed")
    many, _ = run()
    assert many == few


def test_dashboard_figures_count_the_current_organisations_of_the_tenant(assoc, make, session):
    from crm.members import queries
    from crm.tenancy import tenant_scope

    t, today = assoc.tenant, date.today()
    micro = make.org(t, name="Micro Due", employees=3, turnover_eur=10)
    make.membership(micro, status="active", paid_until=today - timedelta(days=3))
    make.membership(
        make.org(t, name="Paid Ahead"),
        status="active",
        paid_until=today.replace(year=today.year + 2),
    )
    make.membership(make.org(t, name="Gone Quiet"), status="lapsed")
    make.membership(make.org(t, kind="university", name="Knocking"), status="applicant")
    make.cluster(t, name="No Membership")
    make.membership(make.org(t, name="Archived", archived=True), status="lapsed")
    other = make.tenant(slug="assoc-de", country="DE")
    make.membership(make.org(other, name="Elsewhere"), status="lapsed")
    session.flush()
    with tenant_scope(t.id):
        figures = queries.dashboard_figures(t.id, today)
    assert figures["total"] == 5
    assert figures["by_kind"] == {"firm": 3, "university": 1, "cluster": 1}
    assert figures["by_size"] == {"micro": 1, "none": 2}
    assert figures["by_status"] == {"active": 2, "lapsed": 1, "applicant": 1, "none": 1}
    assert figures["renewals"] == {"overdue": 1, "due": 0, "lapsed": 1, "applicants": 1}
    # The "due soon" box lists what is not yet due; the overdue have their own figure.
    assert figures["due_soon"].total == 0 and figures["due_soon"].items == []
