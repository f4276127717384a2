"""The second wall for users, associations, reference lists and the metrics role
(migration 0008, ``crm.database.role_statements``), probed in raw SQL over raw
connections as each role, the way a hostile query would; then the web flows
that cross it (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.orm import Session

from crm.database import METRICS_COLUMNS, grant_roles, metrics_writable_tables, upgrade
from crm.models import Tenant, User
from tests.accounts.support import user_by_email
from tests.clients import client_as
from tests.factories import _PASSWORD_HASH, PASSWORD

SLUGS = ("wall-a", "wall-b")
ALLIANCE_EMAIL = "wall-alliance@example.org"


@pytest.fixture
def walled(database_urls):
    """Tenants A and B with one user each, and one alliance user, committed as the
    owner; yields (a, b, app engine, metrics engine); removed afterwards."""
    owner = create_engine(database_urls["owner"])
    app, metrics = create_engine(database_urls["app"]), create_engine(database_urls["metrics"])

    def cleanup():
        with owner.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE email = :e"), {"e": ALLIANCE_EMAIL})
            connection.execute(text("DELETE FROM tenants WHERE slug = ANY(:s)"), {"s": list(SLUGS)})

    cleanup()
    try:
        with Session(owner) as session, session.begin():
            ids = []
            for slug in SLUGS:
                tenant = Tenant(slug=slug, name=slug, country="FR")
                session.add(tenant)
                session.flush()
                session.add(_user(f"user@{slug}.example.org", "secretariat", tenant.id))
                ids.append(tenant.id)
            session.add(_user(ALLIANCE_EMAIL, "alliance_admin", None))
        yield ids[0], ids[1], app, metrics
    finally:
        app.dispose()
        metrics.dispose()
        cleanup()
        owner.dispose()


def _user(email, role, tenant_id) -> User:
    return User(
        email=email,
        password_hash=_PASSWORD_HASH,
        name=email.split("@")[0],
        role=role,
        tenant_id=tenant_id,
        active=True,
        session_version=1,
    )


def _set(connection, tenant_id=None, scope=None) -> None:
    connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true), set_config('app.scope', :s, true)"),
        {"t": "" if tenant_id is None else str(tenant_id), "s": scope or ""},
    )


def _refused(engine, sql: str, params=None, match="permission denied") -> None:
    """``sql`` fails for this role (and the transaction is rolled back)."""
    with engine.connect() as connection:
        connection.begin()
        with pytest.raises(DBAPIError, match=match):
            connection.execute(text(sql), params or {})
        connection.rollback()


# --- the app role: users ---------------------------------------------------------


@pytest.mark.postgres
def test_app_role_sees_and_changes_only_its_tenants_users(walled):
    a, b, app, _ = walled
    with app.begin() as connection:
        _set(connection, a)
        tenants = connection.execute(text("SELECT DISTINCT tenant_id FROM users")).scalars()
        assert set(tenants) == {a}  # neither B's users nor the alliance's
        changed = connection.execute(
            text("UPDATE users SET password_hash = 'stolen' WHERE tenant_id = :b"), {"b": b}
        )
        assert changed.rowcount == 0
        deleted = connection.execute(text("DELETE FROM users WHERE tenant_id = :b"), {"b": b})
        assert deleted.rowcount == 0
        alliance = connection.execute(text("DELETE FROM users WHERE tenant_id IS NULL"))
        assert alliance.rowcount == 0
    with app.connect() as connection:
        connection.begin()
        _set(connection, a)
        with pytest.raises(DBAPIError, match="row-level security"):  # moving a user to B
            connection.execute(
                text("UPDATE users SET tenant_id = :b WHERE tenant_id = :a"), {"a": a, "b": b}
            )
        connection.rollback()


@pytest.mark.postgres
def test_app_role_cannot_insert_a_user_into_another_tenant_or_the_alliance(walled):
    a, b, app, _ = walled
    insert = (
        "INSERT INTO users (email, password_hash, name, role, tenant_id, active, "
        "session_version, created_at, updated_at) VALUES "
        "('smuggled@example.org', 'x', 'x', :role, :tenant, true, 1, now(), now())"
    )
    for role, tenant in (("tenant_admin", b), ("alliance_admin", None)):
        with app.connect() as connection:
            connection.begin()
            _set(connection, a)
            with pytest.raises(DBAPIError, match="row-level security"):
                connection.execute(text(insert), {"role": role, "tenant": tenant})
            connection.rollback()


@pytest.mark.postgres
def test_without_a_scope_no_user_row_is_visible(walled):
    _, _, app, _ = walled
    with app.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
        assert connection.execute(text("SELECT email, password_hash FROM users")).all() == []


@pytest.mark.postgres
def test_alliance_users_only_in_the_alliance_scope(walled):
    a, _, app, _ = walled
    with app.begin() as connection:
        _set(connection, scope="alliance")
        rows = connection.execute(text("SELECT email, tenant_id FROM users")).all()
        assert [tuple(r) for r in rows] == [(ALLIANCE_EMAIL, None)]  # no tenant's users
    with app.begin() as connection:
        _set(connection, a, scope="other")
        emails = connection.execute(text("SELECT email FROM users")).scalars().all()
        assert ALLIANCE_EMAIL not in emails


@pytest.mark.postgres
def test_auth_lookups_give_id_and_tenant_only(walled):
    _, b, app, _ = walled
    with app.begin() as connection:  # no scope at all: before sign-in
        by_email = connection.execute(
            text("SELECT * FROM auth_user_by_email(:e)"), {"e": " USER@wall-b.example.org "}
        )
        assert list(by_email.keys()) == ["id", "tenant_id"]
        [(user_id, tenant_id)] = by_email.all()
        assert tenant_id == b
        by_id = connection.execute(text("SELECT * FROM auth_user_by_id(:i)"), {"i": user_id})
        assert [tuple(r) for r in by_id] == [(user_id, b)]
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
        counts = connection.execute(text("SELECT * FROM tenant_user_counts()"))
        assert list(counts.keys()) == ["tenant_id", "users", "admins"]


@pytest.mark.postgres
def test_definer_functions_are_the_app_roles_alone(walled):
    _, _, _, metrics = walled
    for call in ("auth_user_by_email('x')", "auth_user_by_id(1)", "tenant_user_counts()"):
        _refused(metrics, f"SELECT * FROM {call}")


@pytest.mark.postgres
def test_definer_functions_pin_their_search_path(walled):
    _, _, app, _ = walled
    with app.connect() as connection:
        settings = connection.execute(
            text(
                "SELECT proname, prosecdef, proconfig FROM pg_proc WHERE proname IN "
                "('auth_user_by_email', 'auth_user_by_id', 'tenant_user_counts', 'create_tenant', "
                "'set_tenant_mail_from', 'organisation_search_ids')"
            )
        ).all()
    assert len(settings) == 6
    for name, definer, config in settings:
        assert definer and "search_path=pg_catalog, pg_temp" in config, name


# --- the app role: associations and reference lists --------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM tenants WHERE id = :b",
        "UPDATE tenants SET name = 'taken over' WHERE id = :b",
        "INSERT INTO tenants (slug, name, country, created_at) VALUES ('x', 'x', 'FR', now())",
        "DELETE FROM programmes",
        "UPDATE ecosystems SET code = code",
        "INSERT INTO flagship_areas (id, code, name) VALUES (999, 'x', 'x')",
        "DELETE FROM alembic_version",
    ],
)
def test_app_role_only_reads_associations_and_reference_lists(walled, sql):
    a, b, app, _ = walled
    with app.connect() as connection:
        connection.begin()
        _set(connection, a)
        with pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(text(sql), {"b": b})
        connection.rollback()
    with app.begin() as connection:
        for table in ("tenants", "programmes", "ecosystems", "flagship_areas"):
            connection.execute(text(f"SELECT * FROM {table} LIMIT 1"))


@pytest.mark.postgres
def test_associations_are_created_by_the_function_in_the_alliance_scope_only(walled):
    a, _, app, _ = walled
    create = "SELECT create_tenant('wall-new', 'New', 'ES')"
    with app.connect() as connection:
        connection.begin()
        _set(connection, a)  # a tenant's request cannot create associations
        with pytest.raises(DBAPIError, match="alliance scope"):
            connection.execute(text(create))
        connection.rollback()
    with app.connect() as connection:
        connection.begin()
        _set(connection, scope="alliance")
        new_id = connection.execute(text(create)).scalar_one()
        row = connection.execute(
            text("SELECT slug, country FROM tenants WHERE id = :i"), {"i": new_id}
        )
        assert tuple(row.one()) == ("wall-new", "ES")
        connection.rollback()  # nothing kept


@pytest.mark.postgres
def test_the_sender_is_set_by_the_function_for_the_scoped_association_only(walled):
    a, b, app, metrics = walled
    sender = "SELECT set_tenant_mail_from(:m)"
    with app.connect() as connection:
        connection.begin()
        _set(connection, scope="alliance")  # no association named: refused
        with pytest.raises(DBAPIError, match="association's scope"):
            connection.execute(text(sender), {"m": "office@a.example"})
        connection.rollback()
    with app.connect() as connection:
        connection.begin()
        _set(connection, a)
        assert connection.execute(text(sender), {"m": " office@a.example "}).scalar_one() == a
        rows = connection.execute(
            text("SELECT id, mail_from FROM tenants WHERE id IN (:a, :b)"), {"a": a, "b": b}
        )
        assert dict(rows.all()) == {a: "office@a.example", b: None}  # B untouched
        with pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(
                text("UPDATE tenants SET mail_from = 'x@b.example' WHERE id = :b"), {"b": b}
            )
        connection.rollback()
    _refused(metrics, "SELECT set_tenant_mail_from('x@a.example')")


# --- the metrics role ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT password_hash FROM users",
        "SELECT email FROM users",
        "SELECT count(*) FROM users",
        "SELECT email FROM contacts",
        "SELECT phone FROM contacts",
        "SELECT last_name FROM contacts",
        "SELECT name FROM organisations",
        "SELECT title FROM projects",
        "SELECT summary FROM audit_events",
        "SELECT * FROM tenants",
        "UPDATE projects SET status = status",
        "DELETE FROM organisations",
    ],
)
def test_metrics_role_cannot_read_people_or_names_nor_write_records(walled, sql):
    _refused(walled[3], sql)


@pytest.mark.postgres
def test_metrics_role_reads_the_columns_the_metrics_need_and_writes_snapshots(walled):
    a, b, _, metrics = walled
    with metrics.connect() as connection:
        connection.begin()
        for table, columns in METRICS_COLUMNS.items():
            connection.execute(text(f"SELECT {', '.join(columns)} FROM {table} LIMIT 1"))
        # Across tenants (BYPASSRLS), without any setting.
        tenants = connection.execute(
            text("SELECT id FROM tenants WHERE id IN (:a, :b)"), {"a": a, "b": b}
        ).scalars()
        assert set(tenants) == {a, b}
        assert "metric_snapshots" in metrics_writable_tables()
        snapshot = connection.execute(
            text(
                "INSERT INTO metric_snapshots (tenant_id, taken_at, complete) "
                "VALUES (:a, now(), false) RETURNING id"
            ),
            {"a": a},
        ).scalar_one()
        connection.execute(text("DELETE FROM metric_snapshots WHERE id = :i"), {"i": snapshot})
        connection.rollback()


# --- the flows that cross the wall, on both databases ------------------------------


def test_alliance_user_signs_in_changes_password_and_signs_out(client, make, session):
    user = make.user(None, role="alliance_admin")
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    )
    assert client.get("/alliance/associations/").status_code == 200
    new = "a much longer password 42"
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm_password": new},
    )
    assert response.status_code == 302
    assert client.post("/logout").status_code == 302
    assert client.get("/alliance/associations/").status_code == 302  # signed out
    assert client.post("/login", data={"email": user.email, "password": new}).status_code == 302
    # The password change and the sign-out each ended the sessions before them.
    assert user_by_email(session, user.email).session_version == 3


def test_session_naming_another_tenant_signs_nobody_in(app, make):
    a, b = make.tenant(), make.tenant()
    user = make.user(a, role="tenant_admin")
    forged = client_as(app, f"{user.id}:{user.session_version}:{b.id}")
    assert forged.get(f"/{a.slug}/users").status_code == 302  # to sign-in
    assert client_as(app, user.get_id()).get(f"/{a.slug}/users").status_code == 200


def test_sessions_from_before_the_tenant_was_named_still_load(app, make):
    tenant = make.tenant()
    user = make.user(tenant, role="tenant_admin")
    older = client_as(app, f"{user.id}:{user.session_version}")
    assert older.get(f"/{tenant.slug}/users").status_code == 200


def test_alliance_overview_counts_each_associations_users(make, signed_in):
    a, b = make.tenant(name="Alpha Wall"), make.tenant(name="Beta Wall")
    make.user(a, role="tenant_admin")
    make.user(a)
    make.user(b, role="tenant_admin", active=False)
    page = signed_in(make.user(None, role="alliance_admin")).get("/alliance/associations/")
    assert page.status_code == 200
    rows = page.data.decode().split("<tr>")
    alpha = next(r for r in rows if "Alpha Wall" in r)
    beta = next(r for r in rows if "Beta Wall" in r)
    assert '<td class="num">2</td>' in alpha and '<td class="num">1</td>' in alpha
    assert '<td class="num">1</td>' in beta and "none" in beta  # no active admin


@pytest.mark.postgres
def test_grant_roles_again_takes_back_what_the_lists_no_longer_give(database_urls):
    """A re-run (``flask crm grant-roles``) starts from nothing for the metrics role
    and takes write access to associations from the app role."""
    owner = create_engine(database_urls["owner"])
    check = text("SELECT has_table_privilege(:role, :table, :privilege)")
    try:
        with owner.begin() as connection:
            connection.execute(text('GRANT SELECT ON users, contacts TO "crm_metrics"'))
            connection.execute(text('GRANT INSERT, DELETE ON tenants, programmes TO "crm_app"'))
        grant_roles(database_urls["owner"], "crm_app", "crm_metrics", create=False)
        with owner.connect() as connection:
            for role, table, privilege in (
                ("crm_metrics", "users", "SELECT"),
                ("crm_metrics", "contacts", "SELECT"),
                ("crm_app", "tenants", "INSERT"),
                ("crm_app", "programmes", "DELETE"),
            ):
                params = {"role": role, "table": table, "privilege": privilege}
                assert connection.scalar(check, params) is False, params
    finally:
        grant_roles(database_urls["owner"], "crm_app", "crm_metrics", create=False)
        owner.dispose()


PLAIN_OWNER = "crm_owner_plain"


@pytest.mark.postgres
def test_the_wall_holds_with_an_owner_that_is_not_a_superuser(database_urls):
    """In production the owner is a plain role, bound by FORCE like the app: the
    migrations must run as it and the definer functions must still see users.
    (The suite's own owner is a superuser, which bypasses row-level security.)"""
    from sqlalchemy.engine import make_url

    url = make_url(database_urls["owner"])
    scratch = f"{url.database}_plain_owner"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    owner_url = url.set(database=scratch, username=PLAIN_OWNER, password=None)
    owner_url = owner_url.render_as_string(hide_password=False)
    app_url = make_url(owner_url).set(username="crm_app").render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        connection.execute(
            text(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PLAIN_OWNER}') "
                f'THEN CREATE ROLE "{PLAIN_OWNER}" LOGIN NOSUPERUSER; END IF; END $$'
            )
        )
        connection.execute(text(f'CREATE DATABASE "{scratch}" OWNER "{PLAIN_OWNER}"'))
    owner, app = create_engine(owner_url), create_engine(app_url)
    try:
        upgrade(owner_url)
        grant_roles(owner_url, "crm_app", "crm_metrics", create=False)
        with owner.begin() as connection:
            assert (
                connection.scalar(
                    text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                )
                is False
            )
            tenant = connection.scalar(
                text(
                    "INSERT INTO tenants (slug, name, country, created_at) "
                    "VALUES ('p', 'p', 'FR', now()) RETURNING id"
                )
            )
            _set(connection, tenant)
            connection.execute(
                text(
                    "INSERT INTO users (email, password_hash, name, role, tenant_id, active, "
                    "session_version, created_at, updated_at) VALUES ('plain@example.org', 'h', "
                    "'n', 'secretariat', :t, true, 1, now(), now())"
                ),
                {"t": tenant},
            )
        with owner.begin() as connection:  # FORCE binds the owner too
            assert connection.scalar(text("SELECT count(*) FROM users")) == 0
        with app.begin() as connection:
            found = connection.execute(
                text("SELECT * FROM auth_user_by_email('plain@example.org')")
            )
            assert [row.tenant_id for row in found] == [tenant]
            assert connection.scalar(text("SELECT current_setting('app.definer', true)")) == ""
            connection.execute(text("SELECT set_config('app.definer', 'on', true)"))
            assert connection.scalar(text("SELECT count(*) FROM users")) == 0  # not the owner
    finally:
        owner.dispose()
        app.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()
