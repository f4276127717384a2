"""The schema: migrations are its only source, and its keys keep tenants apart."""

import re
import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from crm import database
from crm.models import TENANT_TABLES, Base, Ecosystem, FlagshipArea, Participation, Programme


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with warnings.catch_warnings(), engine.connect() as connection:
            # The case-insensitive e-mail index is an expression index, which
            # neither reflection nor autogenerate compares; its own test covers it.
            warnings.filterwarnings("ignore", message=".*expression-based index.*")
            warnings.filterwarnings("ignore", message=".*functional index.*")
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "render_as_batch": True,
                    "include_object": database.include_in_autogenerate,
                },
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_models_and_migrations_agree(database_urls):
    assert _diff(database_urls["owner"]) == []


def test_reference_data_is_loaded_by_migration(session):
    assert session.scalar(select(text("count(*)")).select_from(Ecosystem)) == 14
    assert session.scalar(select(text("count(*)")).select_from(FlagshipArea)) == 7
    codes = set(session.scalars(select(Programme.code)))
    assert {"HE", "ERDF", "INTERREG", "RRF", "SMP", "I3"} <= codes


def test_participation_cannot_point_into_another_tenant(make, session):
    """The composite foreign key refuses it, whatever the application does."""
    a, b = make.tenant(), make.tenant()
    project = make.project(a)
    foreign_org = make.org(b)
    with pytest.raises((IntegrityError, ProgrammingError)):
        with session.begin_nested():
            session.execute(
                insert(Participation).values(
                    tenant_id=a.id,
                    project_id=project.id,
                    organisation_id=foreign_org.id,
                    role="partner",
                )
            )


def test_one_coordinator_per_project_is_the_databases_rule(make, session):
    """The partial unique index refuses a second coordinator, and only that."""
    from crm.tenancy import tenant_scope

    tenant = make.tenant()
    project = make.project(tenant)
    make.participation(project, make.org(tenant), role="coordinator")
    make.participation(project, make.org(tenant), role="partner")
    make.participation(make.project(tenant), make.org(tenant), role="coordinator")
    second = make.org(tenant)
    with tenant_scope(tenant.id), pytest.raises(IntegrityError):
        with session.begin_nested():
            session.add(
                Participation(
                    tenant_id=tenant.id,
                    project_id=project.id,
                    organisation_id=second.id,
                    role="coordinator",
                )
            )


def test_orm_refuses_to_write_a_row_for_another_tenant(make, session):
    from crm.models import Organisation
    from crm.tenancy import tenant_scope

    a, b = make.tenant(), make.tenant()
    with tenant_scope(a.id), pytest.raises(PermissionError):
        session.add(Organisation(tenant_id=b.id, kind="firm", name="Intruder", country="FR"))
        session.flush()
    session.rollback()


def test_every_tenant_table_is_keyed_by_tenant(database_urls):
    """tenant_id leads every primary or unique key of a tenant table (Citus-ready)."""
    from crm.models import TENANT_TABLES

    engine = create_engine(database_urls["owner"])
    try:
        inspector = inspect(engine)
        for table in TENANT_TABLES:
            columns = {c["name"]: c for c in inspector.get_columns(table)}
            assert columns["tenant_id"]["nullable"] is False, table
            for fk in inspector.get_foreign_keys(table):
                if fk["referred_table"] not in (
                    "tenants",
                    "users",
                    "ecosystems",
                    "flagship_areas",
                    "programmes",
                ):
                    assert fk["constrained_columns"][0] == "tenant_id", (table, fk)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_downgrade_to_base_then_upgrade_again(database_urls):
    """On a scratch database, so the suite's own schema is untouched."""
    from sqlalchemy.engine import make_url

    owner = make_url(database_urls["owner"])
    scratch = owner.set(database=f"{owner.database}_migrations")
    admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    url = scratch.render_as_string(hide_password=False)
    try:
        database.upgrade(url)
        database.downgrade(url, "base")
        engine = create_engine(url)
        with engine.connect() as connection:
            left = set(inspect(connection).get_table_names()) - {"alembic_version"}
        engine.dispose()
        assert left == set()
        database.upgrade(url)
        assert _diff(url) == []
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_grant_roles_refuses_to_take_the_owners_rights(make_app, database_urls):
    """DATABASE_URL set to the owner's by mistake: --create would make it NOSUPERUSER."""
    app = make_app(SQLALCHEMY_DATABASE_URI=database_urls["owner"])
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["crm", "grant-roles", "--create"])
    assert result.exit_code == 2 and "owns the schema" in result.output
    engine = create_engine(database_urls["owner"])
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    engine.dispose()


def test_email_is_unique_whatever_its_case(make, session):
    make.user(email="Ana@Example.org")
    with pytest.raises(IntegrityError), session.begin_nested():
        make.user(email="ana@example.ORG")


def test_the_security_guide_lists_every_tenant_table():
    """docs/security.md's table of roles names each table under row-level security."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    [row] = [line for line in guide.splitlines() if line.startswith("| tenant tables")]
    named = set(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    assert set(TENANT_TABLES) - named == set()
