"""The grant-key migration re-keys stored projects ("GAP-…" keyed as "P…" before)."""

from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import database


@contextmanager
def scratch_database(database_urls, tmp_path):
    """An empty database of the suite's kind (SQLite file or PostgreSQL), dropped after."""
    if database_urls["dialect"] == "sqlite":
        yield f"sqlite:///{tmp_path / 'grant_keys.sqlite3'}"
        return
    owner = make_url(database_urls["owner"])
    scratch = owner.set(database=f"{owner.database}_grant_keys")
    admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)')
    with admin.connect() as connection:
        connection.execute(drop)
        connection.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(drop)
        admin.dispose()


NUMBERS = {
    # grant_number: (key under the old rule, key under the new one)
    "GAP-103660601": ("P103660601", "103660601"),
    "GAP 101070123": ("P101070123", "101070123"),
    "GA No. 101070123": ("101070123", "101070123"),
    "101-943-6220": ("1019436220", "1019436220"),
}


def _keys(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT grant_number, grant_key FROM projects")).all()
    engine.dispose()
    return dict(rows)


def test_migration_rekeys_stored_projects_and_downgrade_restores(database_urls, tmp_path):
    with scratch_database(database_urls, tmp_path) as url:
        database.upgrade(url, "0013")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO tenants (id, slug, name, country, created_at) "
                    "VALUES (1, 'a', 'A', 'FR', CURRENT_TIMESTAMP)"
                )
            )
            if database_urls["dialect"] == "postgresql":
                # FORCE binds the owner: write as tenant 1, as the application does.
                connection.execute(text("SELECT set_config('app.tenant_id', '1', true)"))
            for i, (number, (old, _)) in enumerate(NUMBERS.items(), start=1):
                connection.execute(
                    text(
                        "INSERT INTO projects (id, tenant_id, programme_code, grant_number, "
                        "grant_key, acronym, title, status, created_at, updated_at) VALUES "
                        "(:id, 1, 'HE', :number, :key, :acronym, 'T', 'funded', "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": i, "number": number, "key": old, "acronym": f"P{i}"},
                )
        engine.dispose()
        # The owner reads through FORCE on PostgreSQL only as a superuser; the suite's
        # owner is one, as is the migration's, so the keys read back are every row's.
        database.upgrade(url, "0014")
        assert _keys(url) == {number: new for number, (_, new) in NUMBERS.items()}
        database.downgrade(url, "0013")
        assert _keys(url) == {number: old for number, (old, _) in NUMBERS.items()}
