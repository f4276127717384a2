"""Races between two users, for real on PostgreSQL: the database keeps the rules
(one coordinator, a participant once, no lost update) and the loser is told in
the form's own words (422) or shown the conflict (409), never a 500.

Two requests run in two threads on committed data. A barrier on the engine
holds each request just before its INSERT or UPDATE until the other one has got
there too, so both have passed the Python checks: the race is certain, not
left to the scheduler.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.models import ClusterMembership, Organisation, Participation
from crm.tenancy import tenant_scope
from tests.clients import client_as
from tests.factories import Factories
from tests.sql import as_tenant

pytestmark = pytest.mark.postgres


def _seed(app):
    """A tenant, a project with no coordinator, two firms and two secretariat users."""
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="race-fr", country="FR")
        project = make.project(tenant, total_budget=Decimal("1000"))
        firms = [make.org(tenant, name=f"Racing Firm {n}") for n in (1, 2)]
        users = [make.user(tenant, role="secretariat") for _ in (1, 2)]
        cluster = make.cluster(tenant, name="Racing Cluster")
        seeded = {
            "tenant": tenant.id,
            "cluster": cluster.id,
            "project": project.id,
            "firms": [f.id for f in firms],
            "identities": [u.get_id() for u in users],
        }
        db.session.commit()
    return seeded


def _both_at(app, statement_start: str):
    """Hold each of the next two statements starting with ``statement_start``
    until both are there (then both run, one after the other in the database)."""
    barrier = threading.Barrier(2, timeout=20)

    def wait(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(statement_start):
            barrier.wait()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", wait)
    return lambda: event.remove(engine, "before_cursor_execute", wait)


def _post_together(app, identities, url, forms) -> list:
    """POST ``forms[i]`` as user ``identities[i]`` at the same time; the responses."""
    responses = [None, None]

    def post(i):
        responses[i] = client_as(app, identities[i]).post(url, data=forms[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def _participants(app, seeded) -> list:
    with app.app_context(), tenant_scope(seeded["tenant"]):
        return db.session.execute(
            select(Participation.organisation_id, Participation.role).where(
                Participation.project_id == seeded["project"]
            )
        ).all()


def test_the_same_participant_added_twice_at_once_gives_422_to_the_loser(committed_app):
    seeded = _seed(committed_app)
    firm = seeded["firms"][0]
    url = f"/race-fr/projects/{seeded['project']}/participations/new"
    form = {"organisation_id": str(firm), "role": "partner", "budget_share": ""}
    release = _both_at(committed_app, "INSERT INTO PARTICIPATIONS")
    try:
        responses = _post_together(committed_app, seeded["identities"], url, [form, form])
    finally:
        release()
    assert sorted(r.status_code for r in responses) == [302, 422]
    loser = next(r for r in responses if r.status_code == 422).get_data(as_text=True)
    assert "Racing Firm 1 already takes part in this project" in loser
    assert _participants(committed_app, seeded) == [(firm, "partner")]


def test_two_coordinators_added_at_once_only_one_is_kept(committed_app):
    seeded = _seed(committed_app)
    url = f"/race-fr/projects/{seeded['project']}/participations/new"
    forms = [
        {"organisation_id": str(firm), "role": "coordinator", "budget_share": ""}
        for firm in seeded["firms"]
    ]
    release = _both_at(committed_app, "INSERT INTO PARTICIPATIONS")
    try:
        responses = _post_together(committed_app, seeded["identities"], url, forms)
    finally:
        release()
    assert sorted(r.status_code for r in responses) == [302, 422]
    loser = next(r for r in responses if r.status_code == 422).get_data(as_text=True)
    assert "A project has at most one coordinator" in loser
    roles = [role for _org, role in _participants(committed_app, seeded)]
    assert roles == ["coordinator"]


def test_the_same_cluster_added_to_an_organisation_twice_at_once(committed_app):
    """Both users add the organisation to the same cluster from a form opened at
    the same version: one is saved, the other gets the conflict page (the
    organisation's version moved), and the link exists once."""
    seeded = _seed(committed_app)
    org_id = seeded["firms"][0]
    url = f"/race-fr/members/{org_id}/edit"
    form = {
        "kind": "firm",
        "name": "Racing Firm 1",
        "country": "FR",
        "cluster_ids": [str(seeded["cluster"])],
        "version": "1",
    }
    release = _both_at(committed_app, "UPDATE ORGANISATIONS")
    try:
        responses = _post_together(committed_app, seeded["identities"], url, [form, form])
    finally:
        release()
    assert sorted(r.status_code for r in responses) == [302, 409]
    with committed_app.app_context(), tenant_scope(seeded["tenant"]):
        links = db.session.scalar(
            select(func.count())
            .select_from(ClusterMembership)
            .where(ClusterMembership.member_id == org_id)
        )
    assert links == 1


def test_coordinator_inserts_from_two_connections_exactly_one_wins(committed_app, database_urls):
    """The rule is the database's, whatever the application does: two app-role
    connections insert a coordinator each, the second waits for the first."""
    seeded = _seed(committed_app)
    engine = create_engine(database_urls["app"])
    barrier = threading.Barrier(2, timeout=20)
    outcomes: list[str] = []

    def insert(firm_id):
        with engine.connect() as connection:
            as_tenant(connection, seeded["tenant"])
            barrier.wait()
            try:
                connection.execute(
                    text(
                        "INSERT INTO participations (tenant_id, project_id, organisation_id, "
                        "role, logged_at, version) VALUES (:t, :p, :o, 'coordinator', now(), 1)"
                    ),
                    {"t": seeded["tenant"], "p": seeded["project"], "o": firm_id},
                )
                time.sleep(0.2)  # the other insert is now waiting on this one
                connection.commit()
                outcomes.append("won")
            except IntegrityError as error:
                assert "uq_participations_one_coordinator" in str(error)
                outcomes.append("refused")

    threads = [threading.Thread(target=insert, args=(f,)) for f in seeded["firms"]]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        engine.dispose()
    assert sorted(outcomes) == ["refused", "won"]
    assert [role for _o, role in _participants(committed_app, seeded)] == ["coordinator"]


def _while_another_save_holds_the_row(committed_app, database_urls, seeded, org_id, request):
    """Run ``request()`` (a page's POST) while another save holds the organisation's
    row with a newer version, and commit that save once the request waits for it."""
    owner = create_engine(database_urls["owner"])
    responses = []
    try:
        with owner.connect() as other:
            as_tenant(other, seeded["tenant"])
            other.execute(
                text(
                    "UPDATE organisations SET city = 'Lyon', version = version + 1 WHERE id = :id"
                ),
                {"id": org_id},
            )
            thread = threading.Thread(target=lambda: responses.append(request()))
            thread.start()
            _wait_for_a_lock_wait(owner)
            other.commit()
            thread.join(timeout=60)
    finally:
        owner.dispose()
    return responses[0]


def test_a_save_that_loses_the_race_to_another_save_shows_the_conflict(
    committed_app, database_urls
):
    """The form's version is current when the request reads the row, but another
    save commits before its UPDATE: the UPDATE's version check refuses it (409)."""
    seeded = _seed(committed_app)
    org_id = seeded["firms"][0]

    def save():
        return client_as(committed_app, seeded["identities"][0]).post(
            f"/race-fr/members/{org_id}/edit",
            data={
                "kind": "firm",
                "name": "Racing Firm 1",
                "country": "FR",
                "description": "Made in a race.",
                "version": "1",
            },
        )

    response = _while_another_save_holds_the_row(committed_app, database_urls, seeded, org_id, save)
    assert response.status_code == 409
    assert "Someone changed this record since you opened it" in response.get_data(as_text=True)
    with committed_app.app_context(), tenant_scope(seeded["tenant"]):
        org = db.session.get(Organisation, org_id)
        assert (org.city, org.description, org.version) == ("Lyon", None, 2)


def _wait_for_a_lock_wait(engine, seconds: float = 20) -> None:
    """Until a backend waits on a row lock (the request's UPDATE)."""
    deadline = time.monotonic() + seconds
    with engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = probe.scalar(
                select(func.count())
                .select_from(text("pg_stat_activity"))
                .where(text("wait_event_type = 'Lock' AND datname = current_database()"))
            )
            probe.rollback()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the request never waited for the row lock")


def test_archiving_a_record_someone_is_saving_answers_409(committed_app, database_urls):
    """Outside an edit form (archive), a version check that fails is a 409 page
    with nothing done, not a 500."""
    seeded = _seed(committed_app)
    org_id = seeded["firms"][0]

    def archive():
        client = client_as(committed_app, seeded["identities"][0])
        return client.post(f"/race-fr/members/{org_id}/archive")

    response = _while_another_save_holds_the_row(
        committed_app, database_urls, seeded, org_id, archive
    )
    assert response.status_code == 409
    assert "Changed meanwhile" in response.get_data(as_text=True)
    with committed_app.app_context(), tenant_scope(seeded["tenant"]):
        org = db.session.get(Organisation, org_id)
        assert (org.archived, org.city, org.version) == (False, "Lyon", 2)
