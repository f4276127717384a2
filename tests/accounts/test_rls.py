"""PostgreSQL row-level security, checked over raw connections as the application role."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crm.models import (
    TENANT_TABLES,
    CordisDismissal,
    CordisLink,
    Ecosystem,
    EmailConsent,
    ExportFile,
    FlagshipArea,
    MailingRecipient,
    MembershipStatusChange,
    OutboxMessage,
    ProjectStatusChange,
    ReminderLog,
    ReminderSettings,
    Tenant,
)
from tests.factories import Factories
from tests.sql import as_tenant

pytestmark = pytest.mark.postgres


def _seed(session, slug: str) -> int:
    """One row in every tenant table for a new tenant (as the owner); returns its id."""
    make = Factories(session)
    tenant = Tenant(slug=slug, name=slug, country="FR")  # the owner writes tenants directly
    session.add(tenant)
    session.flush()
    cluster, firm = make.cluster(tenant), make.org(tenant)
    firm.ecosystems.append(session.scalars(select(Ecosystem)).first())
    membership = make.membership(firm)
    session.add(
        MembershipStatusChange(
            tenant_id=tenant.id,
            membership_id=membership.id,
            to_status="active",
            effective_on=date(2024, 1, 1),
        )
    )
    make.cluster_member(cluster, firm)
    contact = make.contact(firm)
    make.tagged(make.tag(tenant), firm, contact)
    make.segment(tenant)
    project = make.project(tenant)
    project.ecosystems.append(session.scalars(select(Ecosystem)).first())
    project.flagships.append(session.scalars(select(FlagshipArea)).first())
    session.add(
        ProjectStatusChange(
            tenant_id=tenant.id, project_id=project.id, to_status="funded", changed_on=date.today()
        )
    )
    make.participation(project, firm)
    make.import_batch(tenant)
    make.payment(membership)
    make.activity(firm)
    session.add(
        ExportFile(
            tenant_id=tenant.id,
            run_id=0,
            kind="members",
            filename="members.xlsx",
            rows=0,
            content=b"",
            expires_at=datetime.now(UTC),
        )
    )
    session.add(CordisLink(tenant_id=tenant.id, grant_key="101070001", project_id=project.id))
    session.add(
        CordisDismissal(
            tenant_id=tenant.id, grant_key="101070001", organisation_id=firm.id, reason="seed"
        )
    )
    session.add(
        OutboxMessage(
            tenant_id=tenant.id, sender="a@x.org", recipient="b@x.org", subject="s", body="b"
        )
    )
    contact = make.contact(firm)
    mailing = make.mailing(tenant)
    session.add(
        MailingRecipient(
            tenant_id=tenant.id, mailing_id=mailing.id, contact_id=contact.id, email="c@x.org"
        )
    )
    session.add(
        ReminderSettings(tenant_id=tenant.id, steps=[-7], subject="s", body="b", enabled=True)
    )
    session.add(
        ReminderLog(
            tenant_id=tenant.id,
            membership_id=membership.id,
            step=-7,
            paid_until=date(2024, 1, 1),
            mailing_id=mailing.id,
            done_on=date(2023, 12, 25),
        )
    )
    session.add(
        EmailConsent(
            tenant_id=tenant.id,
            contact_id=contact.id,
            purpose="membership",
            granted=True,
            source="form",
        )
    )
    session.flush()
    return tenant.id


@pytest.fixture
def seeded(database_urls):
    """Tenants A and B with committed rows in every tenant table; removed afterwards."""
    owner_engine = create_engine(database_urls["owner"])
    slugs = {"a": "rls-a", "b": "rls-b"}
    cleanup = text("DELETE FROM tenants WHERE slug IN (:a, :b)")  # cascades to their rows
    app_engine = create_engine(database_urls["app"])
    try:
        with Session(owner_engine) as session, session.begin():
            session.execute(cleanup, slugs)
            a, b = _seed(session, "rls-a"), _seed(session, "rls-b")
        with owner_engine.connect() as owner:
            for table in TENANT_TABLES:  # the seed must cover every tenant table
                query = f"SELECT count(DISTINCT tenant_id) FROM {table} WHERE tenant_id IN (:a, :b)"
                tenants = owner.execute(text(query), {"a": a, "b": b}).scalar_one()
                assert tenants == 2, f"seed does not cover {table}"
        yield a, b, app_engine
    finally:
        app_engine.dispose()
        with owner_engine.begin() as owner:
            owner.execute(cleanup, slugs)
        owner_engine.dispose()


def test_app_role_cannot_bypass_rls(seeded):
    _, _, engine = seeded
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    assert row == (False, False)


def test_each_tenant_table_shows_only_the_current_tenant(seeded):
    a, b, engine = seeded
    with engine.begin() as connection:
        as_tenant(connection, a)
        for table in TENANT_TABLES:
            tenants = connection.execute(text(f"SELECT DISTINCT tenant_id FROM {table}")).scalars()
            assert set(tenants) == {a}, table


def test_without_a_tenant_setting_no_tenant_rows_are_visible(seeded):
    _, _, engine = seeded
    with engine.begin() as connection:
        for table in TENANT_TABLES:
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0


def test_setting_is_transaction_local(seeded):
    a, _, engine = seeded
    with engine.connect() as connection:
        with connection.begin():
            as_tenant(connection, a)
        with connection.begin():
            count = connection.execute(text("SELECT count(*) FROM organisations")).scalar_one()
    assert count == 0


def test_insert_naming_another_tenant_is_refused(seeded):
    a, b, engine = seeded
    with engine.connect() as connection:
        connection.begin()
        as_tenant(connection, a)
        with pytest.raises(DBAPIError, match="row-level security"):
            connection.execute(
                text(
                    "INSERT INTO organisations (tenant_id, kind, name, country, archived, "
                    "discoverable, is_startup, created_at, updated_at) VALUES "
                    "(:b, 'firm', 'smuggled', 'FR', false, false, false, now(), now())"
                ),
                {"b": b},
            )
        connection.rollback()


def test_update_and_delete_of_another_tenants_rows_touch_nothing(seeded, database_urls):
    a, b, engine = seeded
    with engine.begin() as connection:
        as_tenant(connection, a)
        for table in TENANT_TABLES:
            result = connection.execute(
                text(f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = :b"), {"b": b}
            )
            assert result.rowcount == 0, table
            result = connection.execute(text(f"DELETE FROM {table} WHERE tenant_id = :b"), {"b": b})
            assert result.rowcount == 0, table
    # Moving one's own row into another tenant is refused too.
    with engine.connect() as connection:
        connection.begin()
        as_tenant(connection, a)
        with pytest.raises(DBAPIError, match="row-level security"):
            connection.execute(
                text("UPDATE contacts SET tenant_id = :b WHERE tenant_id = :a"), {"a": a, "b": b}
            )
        connection.rollback()
    owner = create_engine(database_urls["owner"])
    with owner.connect() as connection:
        for table in TENANT_TABLES:
            count = connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :b"), {"b": b}
            ).scalar_one()
            assert count >= 1, table
    owner.dispose()
