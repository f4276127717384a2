"""Fixtures for the import tests: a tenant, a signed-in secretariat, file makers."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from openpyxl import Workbook

from crm.extensions import db
from crm.imports.kinds import KINDS_BY_KEY
from crm.models import ImportBatch
from crm.tenancy import tenant_scope
from tests import factories
from tests.clients import client_as
from tests.conftest import jobs_app


@pytest.fixture
def tenant(make):
    return make.tenant(slug="assoc-imp", country="FR")


@pytest.fixture(autouse=True)
def _in_tenant(request):
    """The test body reads as the tenant (requests carry their own scope).

    Not for tests on committed data (``job_app``, ``page``): the rolled-back
    test transaction would hold SQLite's write lock against them.
    """
    if {"job_app", "page", "committed_app"} & set(request.fixturenames):
        yield
        return
    with tenant_scope(request.getfixturevalue("tenant").id):
        yield


@pytest.fixture
def secretariat(make, tenant):
    return make.user(tenant, role="secretariat")


@pytest.fixture
def as_secretariat(app, secretariat):
    """A client whose session names the secretariat user (no slow password check)."""
    return client_as(app, secretariat.get_id())


def csv_bytes(rows: list[list], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    lines = [delimiter.join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class Importer:
    """Drive the import pages like a user: upload, accept the mapping, commit."""

    def __init__(self, client, slug: str):
        self.client, self.slug = client, slug

    def upload(self, data: bytes, kind="organisations", filename="file.csv"):
        return self.client.post(
            f"/{self.slug}/imports",
            data={"kind": kind, "file": (io.BytesIO(data), filename)},
            content_type="multipart/form-data",
        )

    def batch_id(self, response) -> int:
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return int(response.headers["Location"].rstrip("/").split("/")[-2])

    def mapping_page(self, batch_id: int):
        return self.client.get(f"/{self.slug}/imports/{batch_id}/mapping")

    def check(self, batch_id: int, mapping: dict | None = None):
        """Post the mapping form (the suggestion unless ``mapping`` overrides it)."""
        batch = db.session.get(ImportBatch, batch_id)
        chosen = dict(batch.mapping or {}) if mapping is None else mapping
        data = {f"map_{f.key}": chosen.get(f.key, "") for f in KINDS_BY_KEY[batch.kind].fields}
        return self.client.post(f"/{self.slug}/imports/{batch_id}/mapping", data=data)

    def commit(self, batch_id: int):
        return self.client.post(f"/{self.slug}/imports/{batch_id}/commit")

    def run(self, data: bytes, kind="organisations", filename="file.csv", commit=True):
        """Upload, check and (when clean) commit; return the batch."""
        batch_id = self.batch_id(self.upload(data, kind, filename))
        response = self.check(batch_id)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        if commit:
            assert self.commit(batch_id).status_code == 303
        db.session.expire_all()
        return db.session.get(ImportBatch, batch_id)


@pytest.fixture
def importer(as_secretariat, tenant):
    return Importer(as_secretariat, tenant.slug)


@pytest.fixture
def files():
    return SimpleNamespace(csv=csv_bytes, xlsx=xlsx_bytes)


@pytest.fixture
def job_app(make_app, database_urls, request):
    """An app whose data commits (the worker cannot see a test transaction); files above
    three rows go to the background; Redis when the test asks for it."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "rq" else None
    with jobs_app(make_app, database_urls, redis_url, IMPORT_INLINE_MAX_ROWS=3) as app:
        yield app


def signed_in(app, slug: str, country: str = "FR", role: str = "secretariat", setup=None):
    """Commit a tenant and a user of ``role`` (and what ``setup(make, tenant)`` adds);
    return a client signed in as that user and the tenant's id."""
    with app.app_context():
        make = factories.Factories(db.session)
        tenant = make.tenant(slug=slug, country=country)
        user = make.user(tenant, role=role)
        if setup is not None:
            setup(make, tenant)
        tenant_id, user_key = tenant.id, user.get_id()
        db.session.commit()
    return client_as(app, user_key), tenant_id
