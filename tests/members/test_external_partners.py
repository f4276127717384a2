"""External partners are not members: the directory lists them apart (filter
"External partners"), their page has no membership, and no member figure,
list or choice counts them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crm.members import queries
from crm.models import Organisation
from crm.renewals import queries as renewals
from crm.tenancy import tenant_scope


def _members_and_partners(make, tenant):
    firm = make.org(tenant, name="Lyon Robotics", employees=3, turnover_eur=10)
    make.membership(firm, status="active", paid_until=date.today() - timedelta(days=1))
    make.membership(make.org(tenant, kind="university", name="Université Alpha"), "applicant")
    cluster = make.cluster(tenant, name="Cluster Rhône")
    partners = [
        make.org(
            tenant,
            kind=kind,
            name=name,
            country=country,
            is_external=True,
            employees=20,
            turnover_eur=1_000_000,
        )
        for kind, name, country in (
            ("firm", "Nordic Robotics AB", "SE"),
            ("cluster", "Cluster Bayern", "DE"),
            ("university", "TU Wien", "AT"),
        )
    ]
    return firm, cluster, partners


def test_directory_lists_members_by_default_and_partners_on_request(assoc, make):
    _members_and_partners(make, assoc.tenant)

    def names(query=""):
        page = assoc.client.get(f"{assoc.url}/members{query}").get_data(as_text=True)
        table = page.split('id="directory"', 1)[1]
        return {
            n
            for n in (
                "Lyon Robotics",
                "Université Alpha",
                "Cluster Rhône",
                "Nordic Robotics AB",
                "Cluster Bayern",
                "TU Wien",
            )
            if n in table
        }, page

    default, page = names()
    assert default == {"Lyon Robotics", "Université Alpha", "Cluster Rhône"}
    assert "Cluster Bayern" not in page  # not even offered as a cluster filter
    external, page = names("?relation=external")
    assert external == {"Nordic Robotics AB", "Cluster Bayern", "TU Wien"}
    assert page.count("badge-external") == 3
    everyone, _ = names("?relation=all")
    assert len(everyone) == 6
    assert names("?relation=bogus")[0] == default  # unknown values are dropped
    export = assoc.client.get(f"{assoc.url}/members/export.csv?relation=external")
    assert export.get_data(as_text=True).count("\r\n") == 4  # header and three partners


def test_partner_page_shows_external_partner_and_no_membership(assoc, make, session):
    _firm, _cluster, (nordic, bayern, _tu) = _members_and_partners(make, assoc.tenant)
    with tenant_scope(assoc.tenant.id):
        nordic.pic = "999999999"
        session.flush()
    nordic_id, bayern_id = nordic.id, bayern.id  # requests expire the objects
    page = assoc.client.get(f"{assoc.url}/members/{nordic_id}").get_data(as_text=True)
    assert "External partner" in page and "999999999" in page
    assert "Association membership" not in page and "Record membership status" not in page
    cluster_page = assoc.client.get(f"{assoc.url}/members/{bayern_id}").get_data(as_text=True)
    assert "Members of this cluster" not in cluster_page


def test_a_partner_gets_no_membership_and_no_cluster(assoc, make):
    _firm, cluster, (nordic, bayern, _tu) = _members_and_partners(make, assoc.tenant)
    status = assoc.client.post(
        f"{assoc.url}/members/{nordic.id}/status",
        data={"status": "active", "effective_on": "2024-01-01", "reason": "Joined"},
    )
    assert status.status_code == 200  # the form again, with the reason flashed
    assert "An external partner has no membership" in status.get_data(as_text=True)
    # A member cannot join a foreign cluster recorded as an external partner.
    with tenant_scope(assoc.tenant.id):
        from crm import choices

        assert nordic.membership is None
        offered = {name for _id, name in choices.clusters()}
    assert offered == {"Cluster Rhône"}


def test_member_figures_are_the_same_with_or_without_partners(assoc, make, session):
    today = date.today()
    _members_and_partners(make, assoc.tenant)
    with tenant_scope(assoc.tenant.id):
        with_partners = queries.dashboard_figures(assoc.tenant.id, today)
        overdue = renewals.page(assoc.tenant.id, renewals.Selection("overdue"), today, 1, 50)
        for org in session.scalars(select(Organisation).where(Organisation.is_external)):
            session.delete(org)
        session.flush()
        without = queries.dashboard_figures(assoc.tenant.id, today)
    for key in (
        "total",
        "by_kind",
        "by_size",
        "by_status",
        "by_ecosystem",
        "renewals",
        "outstanding",
    ):
        assert with_partners[key] == without[key], key
    assert with_partners["total"] == 3 and with_partners["by_size"] == {"micro": 1}
    assert [r.name for r in overdue.items] == ["Lyon Robotics"]


def test_a_renamed_partner_is_found_under_its_new_name(assoc, make, session):
    from crm.projects.partners import find_partner

    _firm, _cluster, (nordic, _bayern, _tu) = _members_and_partners(make, assoc.tenant)
    response = assoc.client.post(
        f"{assoc.url}/members/{nordic.id}/edit",
        data={"kind": "firm", "name": "Nordic Automation AB", "country": "SE"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with tenant_scope(assoc.tenant.id):
        assert find_partner(session, None, "nordic automation", "SE").id == nordic.id
