"""The narrow path in raw SQL, as the app role: with app.tenant_id = A, every
published profile is readable, B's profiles are not writable, and nothing
else of B is readable (migration 0012)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crm.models import TENANT_TABLES
from tests.sql import as_tenant, owner_and_app

pytestmark = pytest.mark.postgres
SLUGS = ("path-a", "path-b")


@pytest.fixture
def published(database_urls):
    """A and B, each with one published and one unpublished organisation,
    committed as the owner; removed afterwards."""
    with owner_and_app(database_urls, SLUGS) as (owner, app):
        ids = []
        with Session(owner) as session, session.begin():
            for slug in SLUGS:
                tid = session.execute(
                    text("INSERT INTO tenants (slug, name, country, created_at) "
                         "VALUES (:s, :s, 'FR', now()) RETURNING id"),
                    {"s": slug},
                ).scalar_one()  # fmt: skip
                for name, visible in ((f"{slug} public", True), (f"{slug} hidden", False)):
                    org = session.execute(
                        text("INSERT INTO organisations (tenant_id, kind, name, country, "
                             "discoverable, archived, is_startup, is_external, created_at, "
                             "updated_at) VALUES (:t, 'firm', :n, 'FR', :v, false, false, "
                             "false, now(), now()) RETURNING id"),
                        {"t": tid, "n": name, "v": visible},
                    ).scalar_one()  # fmt: skip
                    if visible:
                        session.execute(
                            text("INSERT INTO partner_profiles (tenant_id, organisation_id, "
                                 "name, country, kind, ecosystem_codes, programme_codes, "
                                 "programmes, search_text, published_at) VALUES (:t, :o, :n, "
                                 "'FR', 'firm', '|', '|', '{}', :s, now())"),
                            {"t": tid, "o": org, "n": name, "s": name.lower()},
                        )  # fmt: skip
                ids.append(tid)
        yield ids[0], ids[1], app


def test_a_reads_bs_published_profiles_and_nothing_else_of_b(published):
    a, b, engine = published
    with engine.begin() as connection:
        as_tenant(connection, a)
        names = connection.execute(
            text("SELECT name FROM partner_profiles WHERE tenant_id = ANY(:t)"), {"t": [a, b]}
        ).scalars()
        assert set(names) == {"path-a public", "path-b public"}
        for table in TENANT_TABLES:
            count = connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :b"), {"b": b}
            ).scalar_one()
            assert count == 0, table


def test_without_a_tenant_profiles_are_read_only(published):
    """Published rows are readable (they are the alliance's), never writable."""
    a, b, engine = published
    with engine.begin() as connection:
        for statement in (
            "UPDATE partner_profiles SET name = 'defaced'",
            "DELETE FROM partner_profiles",
        ):
            assert connection.execute(text(statement)).rowcount == 0
        for table in TENANT_TABLES:
            count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            assert count == 0, table


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE partner_profiles SET name = 'defaced' WHERE tenant_id = :b",
        "DELETE FROM partner_profiles WHERE tenant_id = :b",
    ],
)
def test_a_cannot_change_bs_profiles(published, statement):
    a, b, engine = published
    with engine.begin() as connection:
        as_tenant(connection, a)
        assert connection.execute(text(statement), {"b": b}).rowcount == 0
        # Its own rows, yes (and the change is rolled back below).
        own = statement.replace(":b", ":a")
        assert connection.execute(text(own), {"a": a}).rowcount == 1
        connection.rollback()


def test_a_cannot_insert_a_profile_for_b(published):
    a, b, engine = published
    with engine.connect() as connection, pytest.raises(DBAPIError, match="row-level security"):
        with connection.begin():
            as_tenant(connection, a)
            connection.execute(
                text("INSERT INTO partner_profiles (tenant_id, organisation_id, name, country, "
                     "kind, ecosystem_codes, programme_codes, programmes, search_text, "
                     "published_at) SELECT :b, 1, 'forged', 'FR', 'firm', '|', '|', '{}', "
                     "'forged', now()"),
                {"b": b},
            )  # fmt: skip
