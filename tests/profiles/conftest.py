"""Fixtures of the partner search: two associations, A publishing, B searching."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm.accounts import throttle
from crm.models import Ecosystem
from crm.profiles import services
from crm.tenancy import tenant_scope


@pytest.fixture(autouse=True)
def _fresh_throttle(app):
    throttle.reset_all()
    yield
    throttle.reset_all()


def publish(session, org, capabilities=None, keywords=None):
    with tenant_scope(org.tenant_id):
        profile = services.publish(session, org, capabilities, keywords)
    return profile


@pytest.fixture
def alliance(make, session):
    """A (PL) with a published university in Łódź, a published firm, and an
    unpublished "secret" firm; B (ES) with a user per role."""
    from sqlalchemy import select

    ecosystems = session.scalars(select(Ecosystem).order_by(Ecosystem.id).limit(2)).all()
    a = make.tenant(country="PL")
    b = make.tenant(country="ES")
    uni = make.org(
        a, kind="university", name="Politechnika Łódzka", city="Łódź", nuts2="PL71",
        website="https://p.lodz.pl", employees=3000, turnover_eur=987_654_321,
        description="Internal note: late fees",
    )  # fmt: skip
    firm = make.org(a, name="Pérez Robotics", city="Kraków", nace="28.99", employees=40)
    secret = make.org(a, name="Secret Hydrogen Works", city="Gdańsk", discoverable=False)
    with tenant_scope(a.id):
        uni.ecosystems = [ecosystems[0]]
        firm.ecosystems = [ecosystems[0], ecosystems[1]]
        session.flush()
    make.contact(uni, email="rector@p.lodz.pl")
    project = make.project(a, programme="HE", status="funded")
    make.participation(project, uni)
    publish(session, uni, "Robotics and materials research", "robots, composites")
    publish(session, firm, "Industrial automation", "automation")
    users = {
        role: make.user(b, role=role) for role in ("tenant_admin", "secretariat", "cluster_manager")
    }
    users_a = {"secretariat": make.user(a, role="secretariat")}
    return SimpleNamespace(
        a=a, b=b, uni=uni, firm=firm, secret=secret, project=project, users=users,
        users_a=users_a, ecosystems=ecosystems,
    )  # fmt: skip
