"""The alliance page's upload of a CORDIS export: loaded by a background job (in-process
without Redis, a real rq worker with it), the load report shown, the figures refreshed;
a file that is not a CORDIS export, or too large, changes nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from crm.extensions import db
from crm.jobs import QUEUE_NAME
from crm.metrics.jobs import ALLIANCE_KIND
from crm.models import CordisUpload, JobRun
from tests.conftest import jobs_app
from tests.cordis.conftest import SAMPLE, counts
from tests.factories import PASSWORD, Factories

URL = "/alliance/cordis"


def _zip(**files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"csv/{name}.csv", data)
    return out.getvalue()


SAMPLE_ZIP = _zip(
    project=(SAMPLE / "project.csv").read_bytes(),
    organization=(SAMPLE / "organization.csv").read_bytes(),
)


def _users(app) -> dict[str, str]:
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="up-fr", country="FR")
        emails = {
            "alliance_admin": make.user(None, role="alliance_admin").email,
            "alliance_analyst": make.user(None, role="alliance_analyst").email,
            "tenant_admin": make.user(tenant, role="tenant_admin").email,
        }
        db.session.commit()
    return emails


def _client(app, email: str):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _post(client, *files: tuple[bytes, str]):
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post(URL, data=data, content_type="multipart/form-data")


def _runs(app, kind: str) -> list[JobRun]:
    with app.app_context():
        runs = db.session.scalars(select(JobRun).where(JobRun.kind == kind)).all()
        db.session.expunge_all()
        return runs


def _uploads(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CordisUpload))


@pytest.fixture
def embedded(make_app, database_urls):
    with jobs_app(make_app, database_urls, None) as app:
        yield app


def test_the_alliance_admin_uploads_the_zip_and_sees_the_load_report(embedded, owner_engine):
    app = embedded
    admin = _client(app, _users(app)["alliance_admin"])
    assert "CORDIS data" in admin.get("/alliance/").get_data(as_text=True)  # in the nav
    response = _post(admin, (SAMPLE_ZIP, "cordis-HORIZONprojects-csv.zip"))
    assert response.status_code == 302
    (run,) = _runs(app, "cordis")
    assert run.status == "finished", run.error
    assert (run.result["projects"], run.result["participants"]) == counts(owner_engine)
    assert run.result["rejected"] > 0
    assert _uploads(app) == 0  # read by the job, then dropped
    # The coverage figures follow the data: an alliance refresh ran after the load.
    assert [r.status for r in _runs(app, ALLIANCE_KIND)] == ["finished"]
    page = admin.get(URL).get_data(as_text=True)
    assert "cordis-HORIZONprojects-csv.zip" in page
    assert "malformed PIC" in page and "unknown country" in page  # rows left out, by reason
    assert "finished" in page


def test_the_two_csv_files_load_as_well(embedded, owner_engine):
    app = embedded
    admin = _client(app, _users(app)["alliance_admin"])
    response = _post(
        admin,
        ((SAMPLE / "project.csv").read_bytes(), "project.csv"),
        ((SAMPLE / "organization.csv").read_bytes(), "organization.csv"),
    )
    assert response.status_code == 302
    (run,) = _runs(app, "cordis")
    assert run.status == "finished", run.error
    assert counts(owner_engine)[0] == run.result["projects"] > 0


def test_not_a_cordis_export_names_the_columns_and_changes_nothing(embedded, owner_engine):
    app = embedded
    admin = _client(app, _users(app)["alliance_admin"])
    before = counts(owner_engine)
    broken = _zip(
        project=(SAMPLE / "project.csv").read_bytes(),
        organization=b'"projectID";"name";"role"\n"101070001";"X";"coordinator"\n',
    )
    response = _post(admin, (broken, "export.zip"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "organisationID, vatNumber, country, ecContribution" in page
    assert "is not a CORDIS export" in page
    for files in (
        [(b"a;b\n1;2\n", "members.csv")],  # neither file
        [((SAMPLE / "project.csv").read_bytes(), "project.csv")],  # one of the two
        [],
    ):
        response = _post(admin, *files)
        assert response.status_code == 422, files
    assert "lacks organization.csv" in _post(
        admin, ((SAMPLE / "project.csv").read_bytes(), "project.csv")
    ).get_data(as_text=True)
    assert counts(owner_engine) == before and _uploads(app) == 0
    assert _runs(app, "cordis") == []


def test_a_too_large_upload_is_refused(make_app, database_urls, owner_engine):
    with jobs_app(make_app, database_urls, None, CORDIS_UPLOAD_MAX_BYTES=1024) as app:
        admin = _client(app, _users(app)["alliance_admin"])
        response = _post(admin, (SAMPLE_ZIP, "cordis.zip"))
        assert response.status_code == 422
        assert "larger than" in response.get_data(as_text=True)
        assert _uploads(app) == 0 and _runs(app, "cordis") == []


def test_only_the_alliance_admin_may_upload(embedded):
    app = embedded
    emails = _users(app)
    for role in ("alliance_analyst", "tenant_admin"):
        client = _client(app, emails[role])
        assert client.get(URL).status_code in (302, 403, 404), role
        assert _post(client, (SAMPLE_ZIP, "x.zip")).status_code in (302, 403, 404), role
    assert _runs(app, "cordis") == [] and _uploads(app) == 0


def test_with_redis_a_real_worker_loads_it(make_app, database_urls, redis_url, owner_engine):
    with jobs_app(make_app, database_urls, redis_url) as app:
        admin = _client(app, _users(app)["alliance_admin"])
        assert _post(admin, (SAMPLE_ZIP, "cordis.zip")).status_code == 302
        (run,) = _runs(app, "cordis")
        assert run.status == "queued" and run.rq_job_id
        page = admin.get(URL).get_data(as_text=True)
        assert 'data-poll-url="/alliance/cordis/status.json"' in page  # the progress bar
        assert admin.get(f"{URL}/status.json").get_json()["status"] == "queued"
        with app.app_context():
            db.session.remove()
            queue = Queue(QUEUE_NAME, connection=app.extensions["crm.redis"])
            SimpleWorker([queue], connection=queue.connection).work(burst=True)
        (run,) = _runs(app, "cordis")
        assert run.status == "finished" and run.progress == 100, run.error
        assert counts(owner_engine)[0] == run.result["projects"] > 0
        assert _uploads(app) == 0
        assert admin.get(f"{URL}/status.json").get_json()["status"] == "finished"
