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
