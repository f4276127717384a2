"""Fixtures for the fault tests: apps whose data commits (a worker, a second
connection or a killed backend must see it), the rq queue on the test Redis, and
helpers that read the database as its owner (past row-level security)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import create_engine, text

from crm.extensions import db
from tests import factories
from tests.clients import client_as
from tests.metrics.conftest import metrics_app as job_app  # noqa: F401
from tests.metrics.conftest import redis_queue as queue  # noqa: F401

# Nothing listens on port 1: connecting there fails at once, as for a stopped server.
CLOSED_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def owner_sql(database_urls):
    """``owner_sql(statement, **params)``: the rows of one statement, run as the owner."""
    engine = create_engine(database_urls["owner"])

    def run(statement: str, **params):
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return result.all() if result.returns_rows else result.rowcount

    yield run
    engine.dispose()


def tenant_with(app, role: str = "tenant_admin", slug: str = "assoc-faults", setup=None):
    """Commit a tenant and a user of ``role``; the user's client (signed in), the
    tenant's id and slug, and the user (for a real sign-in: ``factories.PASSWORD``)."""
    with app.app_context():
        make = factories.Factories(db.session)
        tenant = make.tenant(slug=slug)
        user = make.user(tenant, role=role)
        if setup is not None:
            setup(make, tenant)
        ids = tenant.id, user.get_id(), user.email
        db.session.commit()
        db.session.remove()
    tenant_id, identity, email = ids
    return client_as(app, identity), tenant_id, slug, email


def organisations_csv(rows: int = 40) -> bytes:
    """An organisations file above the inline limit the fault tests set (3 rows)."""
    lines = ["Name,City,Employees"] + [f"Firm {i},Lyon,{i % 300}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def upload(client, slug: str, data: bytes) -> int:
    """Upload an organisations file; the new batch's id."""
    response = client.post(
        f"/{slug}/imports",
        data={"kind": "organisations", "file": (io.BytesIO(data), "firms.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").split("/")[-2])


def mapping_form(owner_sql, batch_id: int) -> dict:
    """The suggested column mapping of a batch, as the mapping form posts it."""
    (mapping,) = owner_sql("SELECT mapping FROM import_batches WHERE id = :id", id=batch_id)[0]
    mapping = json.loads(mapping) if isinstance(mapping, str) else mapping
    return {f"map_{key}": header or "" for key, header in mapping.items()}


def batch_status(owner_sql, batch_id: int) -> str:
    return owner_sql("SELECT status FROM import_batches WHERE id = :id", id=batch_id)[0][0]


def active_runs(owner_sql) -> list:
    return owner_sql("SELECT id, kind FROM job_runs WHERE status IN ('queued', 'running')")
