"""The restore drill of docs/operations.md, run for real: pg_dump the database,
restore it into a fresh one, migrate, grant the roles, and open pages with the
app pointed at the restored copy (as the app role, under row-level security)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from tests.clients import client_as
from tests.conftest import APP_ROLE, METRICS_ROLE, IsolatedClient, close_app
from tests.factories import Factories

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


def _libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(*command, env=None) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr[-2000:]}"


def test_dump_restore_migrate_grant_and_open_pages(committed_app, database_urls, tmp_path):
    with committed_app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="drill-fr", country="FR")
        org = make.org(tenant, name="Restored Robotics", city="Grenoble")
        make.project(tenant, acronym="RESTORED")
        identity = make.user(tenant, role="secretariat").get_id()
        org_id = org.id
        db.session.commit()

    source = database_urls["owner"]
    restored = make_url(source).set(database=f"{make_url(source).database}_restored")
    restored_owner = restored.render_as_string(hide_password=False)
    maintenance = create_engine(
        make_url(source).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    dump = tmp_path / "crm.dump"
    app = None
    try:
        # 1. Back up: the custom format, restorable table by table.
        _run("pg_dump", "--format=custom", "--file", str(dump), _libpq(source))
        # 2. Restore into a fresh database.
        with maintenance.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{restored.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{restored.database}"'))
        _run("pg_restore", "--no-owner", "--dbname", _libpq(restored_owner), str(dump))
        # 3. Migrate and grant, as an operator would (the restored copy may be older).
        env = {
            "PATH": os.environ.get("PATH", ""),
            "MIGRATION_DATABASE_URL": restored_owner,
            "DATABASE_URL": restored.set(username=APP_ROLE).render_as_string(False),
            "METRICS_DATABASE_URL": restored.set(username=METRICS_ROLE).render_as_string(False),
        }
        _run(str(FLASK), "--app", "wsgi", "crm", "migrate", env=env)
        _run(str(FLASK), "--app", "wsgi", "crm", "grant-roles", env=env)
        # 4. Open pages on the restored copy, as the app role.
        app = create_app(
            {
                "ENV": "testing",
                "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                "MIGRATION_DATABASE_URL": restored_owner,
                "METRICS_DATABASE_URL": env["METRICS_DATABASE_URL"],
                "REDIS_URL": None,
                "SECRET_KEY": "restore-drill-secret-key-0123456789",
            }
        )
        app.test_client_class = IsolatedClient
        client = client_as(app, identity)
        directory = client.get("/drill-fr/members")
        assert directory.status_code == 200
        assert "Restored Robotics" in directory.get_data(as_text=True)
        page = client.get(f"/drill-fr/members/{org_id}")
        assert page.status_code == 200 and "Grenoble" in page.get_data(as_text=True)
        projects = client.get("/drill-fr/projects")
        assert projects.status_code == 200 and "RESTORED" in projects.get_data(as_text=True)
        assert client.get("/drill-fr/dashboard").status_code == 200
    finally:
        if app is not None:
            close_app(app)
        with maintenance.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{restored.database}" WITH (FORCE)'))
        maintenance.dispose()
