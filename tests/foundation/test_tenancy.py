"""The application wall: automatic scoping of ORM statements to the current tenant."""

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from crm.models import Contact, Organisation
from crm.tenancy import all_tenants, tenant_scope


@pytest.fixture
def two_tenants(make):
    a, b = make.tenant(), make.tenant()
    org_a, org_b = make.org(a, name="Alpha"), make.org(b, name="Beta")
    make.contact(org_a)
    make.contact(org_b)
    return a, b, org_a, org_b


def test_select_sees_only_the_current_tenant(session, two_tenants):
    a, b, org_a, org_b = two_tenants
    with tenant_scope(b.id):
        assert session.scalars(select(Organisation.name)).all() == ["Beta"]
        assert session.get(Organisation, org_a.id, populate_existing=True) is None


def test_no_scope_sees_no_tenant_rows(session, two_tenants):
    with tenant_scope(None):
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_all_tenants_lifts_only_the_application_wall(session, two_tenants, dialect):
    with all_tenants():
        count = session.scalar(select(func.count()).select_from(Organisation))
    # On PostgreSQL the app role is still bound by row-level security.
    assert count == (0 if dialect == "postgresql" else 2)


def test_bulk_update_and_delete_are_scoped(session, two_tenants):
    a, b, org_a, org_b = two_tenants
    with tenant_scope(a.id):
        session.execute(update(Organisation).values(city="Changed"))
        session.execute(delete(Contact))
    for tenant, city, contacts in ((a, "Changed", 0), (b, None, 1)):
        with tenant_scope(tenant.id):
            assert session.scalars(select(Organisation.city)).all() == [city]
            assert session.scalar(select(func.count()).select_from(Contact)) == contacts


def test_joins_and_relationship_loads_are_scoped(session, two_tenants):
    a, b, org_a, org_b = two_tenants
    with tenant_scope(a.id):
        rows = session.execute(
            select(Organisation.name, Contact.last_name).join(
                Contact, Contact.organisation_id == Organisation.id
            )
        ).all()
        assert len(rows) == 1 and rows[0][0] == "Alpha"
        orgs = session.scalars(
            select(Organisation).options(selectinload(Organisation.contacts))
        ).all()
        assert [len(o.contacts) for o in orgs] == [1]


def test_new_rows_take_the_scope_tenant(session, make):
    a = make.tenant()
    with tenant_scope(a.id):
        org = Organisation(kind="firm", name="Scoped", country="FR")
        session.add(org)
        session.flush()
    assert org.tenant_id == a.id


def test_new_rows_need_a_scope(session, make):
    make.tenant()
    with tenant_scope(None), pytest.raises(PermissionError):
        session.add(Organisation(kind="firm", name="Nowhere", country="FR"))
        session.flush()
    session.rollback()


def test_changes_are_audited_automatically(session, make):
    from crm.models import AuditEvent

    a = make.tenant()
    org = make.org(a, name="Before")
    with tenant_scope(a.id):
        org.name = "After"
        session.flush()
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "organisations")
            .order_by(AuditEvent.id)
        ).all()
    assert [e.action for e in events] == ["create", "update"]
    # The version the UPDATE made, for the conflict page (crm.conflicts).
    assert events[-1].changes == {"name": ["Before", "After"], "version": [1, 2]}
    assert events[-1].tenant_id == a.id


def test_many_to_many_rows_carry_the_parent_tenant(session, make):
    from crm.models import Ecosystem, organisation_ecosystems

    a = make.tenant()
    org = make.org(a)
    with tenant_scope(a.id):
        org.ecosystems = list(session.scalars(select(Ecosystem).where(Ecosystem.id.in_([2, 5]))))
        session.flush()
        rows = session.execute(select(organisation_ecosystems)).all()
        session.expire(org)
        assert [e.id for e in org.ecosystems] == [2, 5]
    assert {(r.tenant_id, r.organisation_id, r.ecosystem_id) for r in rows} == {
        (a.id, org.id, 2),
        (a.id, org.id, 5),
    }
