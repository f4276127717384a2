"""The directory search's definer function (migration 0031, PostgreSQL): it returns the
current association's ids only, refuses to run without one, and reads the trigram
indexes; the directory finds the same organisations through it as before."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crm.members import queries
from crm.models import Organisation, Tenant
from crm.tenancy import sync_database_tenant, tenant_scope
from tests.conftest import APP_ROLE

SEARCH = "SELECT id FROM organisation_search_ids(:name, :city, :registration) AS id"


def _patterns(word: str) -> dict:
    """The three LIKE patterns the directory passes (name anywhere, city and
    registration id at the start)."""
    return {"name": f"%{word}%", "city": f"{word}%", "registration": f"{word}%"}


@pytest.fixture
def both(assoc, make, session):
    """One organisation of the association, and another association's whose name,
    city and registration id exist only there."""
    mine = make.org(assoc.tenant, name="Quokka Robotics", city="Perth")
    other = make.tenant(slug="assoc-other", country="PL")
    theirs = make.org(other, name="Wombat Foundry", city="Numbat", registration_id="WMB-77")
    session.flush()
    return mine, theirs


@pytest.mark.postgres
def test_the_function_returns_the_current_associations_ids_only(assoc, both, session):
    mine, theirs = both
    with tenant_scope(assoc.tenant.id):
        sync_database_tenant(session)
        assert session.scalar(text("SELECT current_user")) == "crm_app"
        for word in ("wombat", "numbat", "wmb"):  # B's name, city, registration id
            assert session.scalars(text(SEARCH), _patterns(word)).all() == [], word
        assert session.scalars(text(SEARCH), _patterns("quokka")).all() == [mine.id]
        everything = session.scalars(text(SEARCH), _patterns("")).all()
        assert mine.id in everything and theirs.id not in everything


@pytest.mark.postgres
def test_the_function_refuses_without_an_association(both, session):
    assert session.scalar(text("SELECT current_setting('app.tenant_id', true)")) in (None, "")
    with pytest.raises(DBAPIError, match="association's scope"), session.begin_nested():
        session.execute(text(SEARCH), _patterns("wombat"))


@pytest.mark.postgres
def test_the_directory_search_goes_through_the_function(assoc, both, session):
    """As the application role: the page's statement reads the function's ids, then
    the rows under RLS; a short query keeps the filter scan."""
    from tests.members.test_accent_search import _plan

    with tenant_scope(assoc.tenant.id):
        plan = _plan(session, lambda: queries.directory_page(queries.DirectoryFilters(q="Quokka")))
        assert "Function Scan on organisation_search_ids" in plan, plan
        page = queries.directory_page(queries.DirectoryFilters(q="quokka"))
        assert [row.name for row in page.items] == ["Quokka Robotics"]
        assert queries.directory_page(queries.DirectoryFilters(q="wombat")).total == 0
        plan = _plan(session, lambda: queries.directory_page(queries.DirectoryFilters(q="qu")))
        assert "organisation_search_ids" not in plan, plan


@pytest.mark.postgres
def test_the_function_reads_the_trigram_indexes(database_urls):
    """The function's own statement, planned as its owner (which bypasses RLS) when the
    app role calls it: a bitmap scan of the trigram indexes (auto_explain shows the
    nested plan). Nothing is committed."""
    owner = create_engine(database_urls["owner"])
    plans: list[str] = []
    try:
        with owner.connect() as connection:
            connection.connection.driver_connection.add_notice_handler(
                lambda diagnostic: plans.append(diagnostic.message_primary or "")
            )
            assert connection.scalar(
                text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")
            ), "owner must bypass RLS"
            with Session(connection) as session:
                tenant = Tenant(slug="assoc-trgm", name="Trigram", country="FR")
                session.add(tenant)
                session.flush()
                names = [f"Firm {n}" for n in range(3_000)] + ["Quokka"]
                session.execute(
                    insert(Organisation),
                    [
                        {"tenant_id": tenant.id, "kind": "firm", "name": n, "country": "FR"}
                        for n in names
                    ],
                )
                # The new rows out of the GIN pending list, whose scan the planner avoids.
                connection.exec_driver_sql(
                    "SELECT gin_clean_pending_list('ix_organisations_search_trgm')"
                )
                connection.exec_driver_sql("ANALYZE organisations")
                for statement in (
                    "LOAD 'auto_explain'",
                    "SET LOCAL auto_explain.log_min_duration = 0",
                    "SET LOCAL auto_explain.log_nested_statements = on",
                    "SET LOCAL client_min_messages = log",
                    "SET LOCAL enable_seqscan = off",  # as a large table would make it choose
                    f'SET LOCAL ROLE "{APP_ROLE}"',
                ):
                    connection.exec_driver_sql(statement)
                connection.execute(
                    text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
                )
                found = connection.scalars(text(SEARCH), _patterns("quokka")).all()
                assert connection.scalars(text(SEARCH), _patterns("quokka")).all() == found
                session.rollback()
    finally:
        owner.dispose()
    assert len(found) == 1
    inner = next(p for p in plans if "FROM public.organisations" in p)
    assert "Bitmap Index Scan on ix_organisations_" in inner, inner
    assert re.search(r"Index Cond: .*search_name ~~ '%quokka%'", inner), inner
