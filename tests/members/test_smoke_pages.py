"""Every page of the members area renders for the secretariat."""

from __future__ import annotations


def test_pages_render(assoc, make):
    cluster = make.cluster(assoc.tenant, name="Aerospace Valley")
    firm = make.org(assoc.tenant, name="Acme", city="Toulouse", employees=5, turnover_eur=100)
    make.membership(firm)
    make.cluster_member(cluster, firm)
    contact = make.contact(firm)
    project = make.project(assoc.tenant)
    make.participation(project, firm)
    c, u = assoc.client, assoc.url
    for path in (
        f"{u}/dashboard",
        f"{u}/members",
        f"{u}/members?q=acm",
        f"{u}/members/new",
        f"{u}/members/{firm.id}",
        f"{u}/members/{cluster.id}",
        f"{u}/members/{firm.id}/edit",
        f"{u}/members/{firm.id}/status",
        f"{u}/members/{firm.id}/terms",
        f"{u}/renewals",
        f"{u}/members/{firm.id}/contacts/new",
        f"{u}/contacts/{contact.id}/edit",
        f"{u}/contacts/{contact.id}/export.json",
        f"{u}/members/export.csv",
        f"{u}/members/export.xlsx",
    ):
        response = c.get(path)
        assert response.status_code == 200, (path, response.status_code)


def test_pages_render_in_the_association_language_and_formats(assoc, make, signed_in):
    """A user without a language of their own reads the association's (French here):
    every page still renders, and figures follow French formats."""
    from babel.numbers import format_decimal

    reader = make.user(assoc.tenant, role="secretariat", language=None)
    client = signed_in(reader)
    firm = make.org(
        assoc.tenant, name="Acme", city="Toulouse", employees=12345, turnover_eur=2500000
    )
    make.membership(firm)
    make.contact(firm)
    u, firm_id = assoc.url, firm.id  # read before the requests expire the row
    for path in (
        f"{u}/dashboard",
        f"{u}/members",
        f"{u}/members/new",
        f"{u}/members/{firm_id}/edit",
        f"{u}/members/{firm_id}/status",
        f"{u}/members/{firm_id}/terms",
        f"{u}/contacts",
        f"{u}/tags",
        f"{u}/segments",
        f"{u}/duplicates",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    page = client.get(f"{u}/members/{firm_id}").get_data(as_text=True)
    assert format_decimal(12345, locale="fr") in page  # 12 345, not 12,345
    assert "2\u202f500\u202f000\u00a0€" in page  # whole euros, the sign after
