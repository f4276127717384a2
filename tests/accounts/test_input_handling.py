"""The hostile probe's findings, one by one: each now a 4xx with a clear answer."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select, text

from crm.extensions import db
from crm.models import Organisation, Tenant
from crm.tenancy import tenant_scope
from tests.conftest import IsolatedClient, bound_to_rolled_back_connection
from tests.factories import Factories


@pytest.fixture
def admin(two_tenants, signed_in):
    a = two_tenants.a
    return signed_in(a.users["tenant_admin"]), a


def _organisation(**changes):
    return {"kind": "firm", "name": "Acme", "country": "FR", **changes}


def test_nul_in_a_text_field_is_a_field_error(admin, session):
    client, a = admin
    response = client.post(f"/{a.tenant.slug}/members/new", data=_organisation(city="Par\x00is"))
    assert response.status_code == 422
    assert b"control characters" in response.data
    with tenant_scope(a.tenant.id):
        assert session.scalar(select(Organisation).where(Organisation.name == "Acme")) is None


def test_newlines_stay_allowed_in_multi_line_text(admin, session):
    client, a = admin
    description = "First line\r\nsecond\tline"
    response = client.post(
        f"/{a.tenant.slug}/members/new", data=_organisation(description=description)
    )
    assert response.status_code == 302
    with tenant_scope(a.tenant.id):
        org = session.scalar(select(Organisation).where(Organisation.name == "Acme"))
    assert org.description.replace("\r\n", "\n") == "First line\nsecond\tline"


def test_text_longer_than_its_column_is_a_field_error(app, make, signed_in, session):
    client = signed_in(make.user(None, role="alliance_admin"))
    data = {
        "slug": "new-assoc",
        "name": "New association",
        "country": "FR",
        "admin_name": "x" * 100_000,
        "admin_email": "first@new.example.org",
    }
    response = client.post("/alliance/associations/new", data=data)
    assert response.status_code == 422
    assert b"longer than 120 characters" in response.data
    assert session.scalar(select(Tenant).where(Tenant.slug == "new-assoc")) is None


def test_lengths_come_from_the_columns(app):
    from crm.accounts.forms import UserNewForm

    with app.test_request_context():
        form = UserNewForm()
    lengths = {
        name: [v.max for v in form[name].validators if hasattr(v, "max") and v.max != -1]
        for name in ("name", "email")
    }
    assert lengths == {"name": [120], "email": [254]}


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31"])
def test_audit_log_dates_out_of_range_are_refused(admin, day):
    client, a = admin
    response = client.get(f"/{a.tenant.slug}/audit", query_string={"date_to": day})
    assert response.status_code == 200
    assert b"Enter a date between 1900 and 2100" in response.data


@pytest.mark.parametrize("page", [str(2**63), str(2**70), "-5", "abc"])
def test_page_numbers_out_of_range_are_no_error(admin, page):
    client, a = admin
    for path in ("users", "audit", "projects"):
        status = client.get(f"/{a.tenant.slug}/{path}", query_string={"page": page}).status_code
        assert status in (200, 404), f"{path}?page={page} -> {status}"


@pytest.mark.parametrize("big", [2**31, 2**63, 2**70])
def test_ids_beyond_the_integer_columns_are_not_found(admin, big):
    client, a = admin
    slug = a.tenant.slug
    for path in (
        f"/{slug}/projects/{big}",
        f"/{slug}/projects/{a.project.id}/participations/{big}/edit",
        f"/{slug}/users/{big}/edit",
        f"/{slug}/imports/{big}",
    ):
        assert client.get(path).status_code == 404, path


def test_nul_in_a_query_filter_is_ignored(admin):
    client, a = admin
    response = client.get(f"/{a.tenant.slug}/members", query_string={"q": "Fi\x00rm"})
    assert response.status_code == 200


def test_nul_in_an_upload_file_name_is_a_field_error(admin):
    client, a = admin
    data = {"kind": "organisations", "file": (io.BytesIO(b"name;country\nA;FR\n"), "a\x00.csv")}
    response = client.post(f"/{a.tenant.slug}/imports", data=data)
    assert response.status_code == 422
    assert b"Rename the file" in response.data


@pytest.fixture
def failing_app(make_app):
    """An app that handles errors as in production (no exception propagation),
    with a route whose SQL fails and leaves the transaction aborted."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    app.test_client_class = IsolatedClient

    @app.route("/_test/broken")
    def broken():
        db.session.execute(text("SELECT * FROM no_such_table"))

    with bound_to_rolled_back_connection(app), app.app_context():
        yield app


def test_an_unhandled_error_gets_the_apps_page_with_the_security_headers(failing_app):
    from tests.clients import client_as

    user = Factories(db.session).user(None, role="alliance_admin")
    response = client_as(failing_app, user.get_id()).get("/_test/broken")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_error_page_does_not_touch_the_database(admin, count_queries):
    client, a = admin
    with count_queries() as queries:
        response = client.get("/no-such-page")
    assert response.status_code == 404
    assert queries.count == 0
    assert b"Sign out" not in response.data  # no user menu on error pages


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_form_of_the_app_gets_the_central_checks(app):
    """A form built on ``FlaskForm`` directly would skip them; ``crm.forms.Form`` is the base."""
    from flask_wtf import FlaskForm

    from crm.forms import Form

    forms = [c for c in _subclasses(FlaskForm) if c.__module__.startswith("crm.")]
    assert len(forms) >= 15
    assert [c.__qualname__ for c in forms if not issubclass(c, Form)] == []


def test_json_addresses_get_their_errors_as_json(admin):
    client, a = admin
    response = client.get("/alliance/status.json")  # not for an association's admin
    assert response.status_code == 404
    assert response.get_json() == {"error": "Not found", "status": 404}
