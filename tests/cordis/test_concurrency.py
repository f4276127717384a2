"""Two users accepting the same CORDIS participation at the same moment: one project.

The first Accept is held (a lock on ``participations``, taken by another
connection) after it created the project and its link, before it commits; the
second then creates its own project and waits on the link's unique index. When the
lock goes, the first commits, the second's link fails, and it uses the first's.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from crm.cordis.loader import load_export
from crm.models import CordisLink, Organisation, Participation, Project
from tests.clients import client_as
from tests.cordis.conftest import SAMPLE, empty_cordis
from tests.imports.conftest import signed_in

pytestmark = pytest.mark.postgres


def test_concurrent_accepts_create_one_project(committed_app, owner_engine, database_urls):
    load_export(owner_engine, [SAMPLE])
    try:
        client, tenant_id = signed_in(
            committed_app,
            "cordis-race",
            setup=lambda make, tenant: make.org(tenant, name="Acme", pic="999100001"),
        )
        with owner_engine.connect() as connection:
            org_id = connection.scalar(
                select(Organisation.id).where(Organisation.pic == "999100001")
            )
            user = connection.execute(
                text("SELECT id, session_version FROM users WHERE tenant_id = :t"), {"t": tenant_id}
            ).one()
        other = client_as(committed_app, f"{user.id}:{user.session_version}:{tenant_id}")
        data = {"organisation_id": org_id, "grant_key": "101070001"}
        answers = []

        def accept(c):
            answers.append(c.post("/cordis-race/cordis/accept", data=data).status_code)

        blocker = create_engine(database_urls["owner"])
        with blocker.connect() as lock:
            lock.execute(text("LOCK TABLE participations IN EXCLUSIVE MODE"))
            threads = [threading.Thread(target=accept, args=(c,)) for c in (client, other)]
            for thread in threads:
                thread.start()
                time.sleep(1.5)  # the first reaches the lock; the second, the link's index
            with owner_engine.connect() as watch:  # the race is on: both are waiting
                waiting = watch.execute(
                    text(
                        "SELECT left(query, 30) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalars()
                assert sorted(waiting) == [
                    "INSERT INTO cordis_links (gran",
                    "INSERT INTO participations (pr",
                ]
            lock.commit()
        for thread in threads:
            thread.join(30)
        blocker.dispose()
        assert answers == [302, 302]
        with owner_engine.connect() as connection:
            count = lambda model: connection.scalar(  # noqa: E731
                select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
            )
            assert (count(Project), count(CordisLink), count(Participation)) == (1, 1, 1)
    finally:
        empty_cordis(owner_engine)
