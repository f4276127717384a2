"""One project, several associations: matching by programme and normalised grant
number, and nothing but country codes leaving the other tenants."""

from __future__ import annotations

import pytest

from crm import crosstenant
from crm.extensions import db
from crm.models.project import normalise_grant_number
from crm.tenancy import tenant_scope
from tests.clients import client_as
from tests.factories import Factories


@pytest.mark.parametrize(
    "raw",
    ["101070123", "GA 101070123", "ga no. 101 070 123", "No. 101-070-123", " GA#101070123 "],
)
def test_grant_numbers_are_normalised(raw):
    assert normalise_grant_number(raw) == "101070123"


def test_grant_normalisation_keeps_letters_and_empties_nothing():
    assert normalise_grant_number("eurostars e! 12345") == "EUROSTARSE12345"
    assert normalise_grant_number("") is None
    assert normalise_grant_number("  -  ") is None
    assert normalise_grant_number(None) is None


def test_project_page_names_only_the_other_associations_countries(committed_app):
    app = committed_app
    try:
        with app.app_context():
            make = Factories(db.session)
            own = make.tenant(slug="own-fr", country="FR", name="Own Association")
            second_fr = make.tenant(slug="second-fr", country="FR", name="Second French")
            de = make.tenant(slug="assoc-de", country="DE", name="German Association")
            es = make.tenant(slug="assoc-es", country="ES", name="Spanish Association")
            pl = make.tenant(slug="assoc-pl", country="PL", name="Polish Association")
            project = make.project(own, programme="HE", grant_number="GA 101070123")
            twin = make.project(own, programme="HE", grant_number="101-070-123")
            secret_de = make.project(
                de,
                programme="HE",
                grant_number="ga no. 101 070 123",
                acronym="SECRETDE",
                title="German secret title",
            )
            make.participation(secret_de, make.org(de, name="Geheim GmbH"), role="coordinator")
            make.project(es, programme="HE", grant_number="101070123 ", acronym="SECRETES")
            make.project(es, programme="HE", grant_number="101070123", acronym="SECRETES2")
            make.project(pl, programme="ERDF", grant_number="101070123", acronym="OTHERPROG")
            make.project(second_fr, programme="HE", grant_number="999", acronym="UNRELATED")
            lonely = make.project(own, programme="HE", grant_number=None)
            user = make.user(own, role="secretariat")
            ids = (project.id, twin.id, lonely.id, own.id)
            identity = user.get_id()
            db.session.commit()

        with app.app_context():
            project_id, twin_id, lonely_id, own_id = ids
            assert crosstenant.grant_countries("HE", "101070123", own_id) == ["DE", "ES"]
            assert crosstenant.grant_countries("ERDF", "101070123", own_id) == ["PL"]
            assert crosstenant.grant_countries("HE", None, own_id) == []
            client = client_as(app, identity)
            body = client.get(f"/own-fr/projects/{project_id}").get_data(as_text=True)
            assert "Also recorded by associations in: DE, ES</p>" in body
            for leak in (
                "SECRETDE",
                "German secret title",
                "Geheim GmbH",
                "SECRETES",
                "German Association",
                "Spanish Association",
                "assoc-de",
                "OTHERPROG",
            ):
                assert leak not in body, leak
            # The own association's duplicate record is not "another association".
            twin_body = client.get(f"/own-fr/projects/{twin_id}").get_data(as_text=True)
            assert "Also recorded by associations in: DE, ES" in twin_body
            lonely_body = client.get(f"/own-fr/projects/{lonely_id}").get_data(as_text=True)
            assert "Also recorded" not in lonely_body
            # The other tenants' records stay invisible through the app's own session.
            with tenant_scope(own_id):
                from sqlalchemy import func, select

                from crm.models import Project

                assert db.session.scalar(select(func.count(Project.id))) == 3
    finally:
        engine = app.extensions.pop("crm.crosstenant_engine", None)
        if engine is not None:
            engine.dispose()


def test_a_grant_preparation_number_matches_the_same_grant_elsewhere(committed_app):
    """'GAP-103660601' (how the EU portal names a grant preparation) used to key as
    'P103660601', so the same grant recorded as '103660601' was not seen as shared."""
    app = committed_app
    try:
        with app.app_context():
            make = Factories(db.session)
            own = make.tenant(slug="gap-fr", country="FR")
            other = make.tenant(slug="gap-lt", country="LT")
            project = make.project(own, programme="HE", grant_number="GAP-103660601")
            make.project(other, programme="HE", grant_number="103660601")
            make.project(other, programme="HE", grant_number="GAP 101 943 6220")
            make.project(own, programme="HE", grant_number="101-943-6220")
            identity = make.user(own, role="secretariat").get_id()
            project_id, own_id = project.id, own.id
            assert project.grant_key == "103660601"
            db.session.commit()
        with app.app_context():
            assert crosstenant.grant_countries("HE", "103660601", own_id) == ["LT"]
            assert crosstenant.grant_countries("HE", "1019436220", own_id) == ["LT"]
            body = client_as(app, identity).get(f"/gap-fr/projects/{project_id}")
            assert "Also recorded by associations in: LT</p>" in body.get_data(as_text=True)
    finally:
        engine = app.extensions.pop("crm.crosstenant_engine", None)
        if engine is not None:
            engine.dispose()
