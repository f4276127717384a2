"""Partner requests in raw SQL, as the app role (migration 0013): requests are read
by all, interests only by the two associations concerned, shared contacts by the
other side only after acceptance; and two concurrent acceptances accept once."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crm.partner_requests.services import decision
from tests.sql import as_tenant, owner_and_app

pytestmark = pytest.mark.postgres
SLUGS = ("req-a", "req-b", "req-c")


@pytest.fixture
def match(database_urls):
    """A's request, B's pending interest with the contact B chose; C is a bystander."""
    with owner_and_app(database_urls, SLUGS) as (owner, app):
        with owner.begin() as c:
            tids, orgs = [], []
            for slug in SLUGS:
                tid = c.execute(
                    text("INSERT INTO tenants (slug, name, country, created_at) "
                         "VALUES (:s, :s, 'FR', now()) RETURNING id"), {"s": slug},
                ).scalar_one()  # fmt: skip
                orgs.append(
                    c.execute(
                        text(
                            "INSERT INTO organisations (tenant_id, kind, name, country, "
                            "discoverable, archived, is_startup, is_external, created_at, "
                            "updated_at) VALUES (:t, 'firm', :t, 'FR', true, false, false, "
                            "false, now(), now()) RETURNING id"
                        ),
                        {"t": tid},
                    ).scalar_one()  # fmt: skip
                )
                tids.append(tid)
            a, b, _ = tids
            request = c.execute(
                text("INSERT INTO partner_requests (tenant_id, organisation_id, "
                     "organisation_name, organisation_country, title, programme_code, "
                     "deadline, kinds, size_classes, ecosystem_codes, countries, description, "
                     "created_at) VALUES (:a, :o, 'A org', 'FR', 'Seeking', 'HE', "
                     "current_date + 10, '|', '|', '|', '|', 'd', now()) RETURNING id"),
                {"a": a, "o": orgs[0]},
            ).scalar_one()  # fmt: skip
            interest = c.execute(
                text("INSERT INTO partner_interests (request_id, request_tenant_id, tenant_id, "
                     "organisation_id, organisation_name, organisation_country, "
                     "organisation_kind, status, created_at) VALUES (:r, :a, :b, :o, 'B org', "
                     "'FR', 'firm', 'pending', now()) RETURNING id"),
                {"r": request, "a": a, "b": b, "o": orgs[1]},
            ).scalar_one()  # fmt: skip
            c.execute(
                text("INSERT INTO partner_shared_contacts (interest_id, tenant_id, name, "
                     "organisation_name, email, created_at) VALUES (:i, :b, 'Bea', 'B org', "
                     "'bea@b.example', now())"),
                {"i": interest, "b": b},
            )  # fmt: skip
        yield tids, request, interest, app


def _count(connection, table: str, request_id: int) -> int:
    column = "id" if table == "partner_requests" else "request_id"
    if table == "partner_shared_contacts":
        return connection.execute(
            text("SELECT count(*) FROM partner_shared_contacts s JOIN partner_interests i "
                 "ON i.id = s.interest_id WHERE i.request_id = :r"), {"r": request_id}
        ).scalar_one()  # fmt: skip
    return connection.execute(
        text(f"SELECT count(*) FROM {table} WHERE {column} = :r"), {"r": request_id}
    ).scalar_one()


def test_who_reads_what_before_and_after_acceptance(match):
    (a, b, c), request, interest, app = match
    tables = ("partner_requests", "partner_interests", "partner_shared_contacts")
    with app.begin() as connection:
        as_tenant(connection, c)  # a bystander: the request, nothing else
        assert [_count(connection, t, request) for t in tables] == [1, 0, 0]
        assert (
            connection.execute(text("SELECT count(*) FROM partner_shared_contacts")).scalar_one()
            == 0
        )
    with app.begin() as connection:
        as_tenant(connection, a)  # the requester: the interest, not B's contact yet
        assert [_count(connection, t, request) for t in tables] == [1, 1, 0]
    with app.begin() as connection:
        as_tenant(connection, b)  # the interested side: its own contact
        assert [_count(connection, t, request) for t in tables] == [1, 1, 1]
    with app.begin() as connection:
        as_tenant(connection, c)  # a bystander cannot answer
        assert connection.execute(decision(interest, "accepted")).rowcount == 0
    with app.begin() as connection:
        as_tenant(connection, a)
        assert connection.execute(decision(interest, "accepted")).rowcount == 1
        assert _count(connection, "partner_shared_contacts", request) == 1  # B's contact now
    with app.begin() as connection:
        as_tenant(connection, c)
        assert [_count(connection, t, request) for t in tables] == [1, 0, 0]


@pytest.mark.parametrize(
    "statement",
    [
        # B writes an interest in A's name, or in its own association's request.
        "INSERT INTO partner_interests (request_id, request_tenant_id, tenant_id, "
        "organisation_id, organisation_name, organisation_country, organisation_kind, status, "
        "created_at) SELECT :r, :a, :a, organisation_id, 'x', 'FR', 'firm', 'pending', now() "
        "FROM partner_requests WHERE id = :r",
        "INSERT INTO partner_interests (request_id, request_tenant_id, tenant_id, "
        "organisation_id, organisation_name, organisation_country, organisation_kind, status, "
        "created_at) VALUES (:r, :b, :b, 1, 'x', 'FR', 'firm', 'pending', now())",
        # B shares a contact in A's name.
        "INSERT INTO partner_shared_contacts (interest_id, tenant_id, name, organisation_name, "
        "created_at) VALUES (:i, :a, 'forged', 'A org', now())",
    ],
)
def test_forged_rows_are_refused(match, statement):
    (a, b, _), request, interest, app = match
    with pytest.raises(DBAPIError), app.begin() as connection:
        as_tenant(connection, b)
        connection.execute(text(statement), {"r": request, "i": interest, "a": a, "b": b})


def test_others_cannot_change_the_request(match):
    (a, b, c), request, _, app = match
    for tenant in (b, c):
        with app.begin() as connection:
            as_tenant(connection, tenant)
            changed = connection.execute(
                text("UPDATE partner_requests SET closed_at = now() WHERE id = :r"),
                {"r": request},
            ).rowcount
            assert changed == 0


def test_two_concurrent_acceptances_accept_once(match):
    """Two users of A press Accept at the same moment: the second statement waits
    for the first's row lock, then finds the interest no longer pending."""
    (a, _, _), _, interest, app = match
    results: dict[str, int] = {}
    first = app.connect()
    transaction = first.begin()
    as_tenant(first, a)
    results["first"] = first.execute(decision(interest, "accepted")).rowcount

    def second():
        with app.begin() as connection:
            as_tenant(connection, a)
            results["second"] = connection.execute(decision(interest, "declined")).rowcount

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)  # the second is now waiting on the row lock
    assert "second" not in results
    transaction.commit()
    first.close()
    thread.join(10)
    assert results == {"first": 1, "second": 0}
    with app.begin() as connection:
        as_tenant(connection, a)
        status = connection.execute(
            text("SELECT status FROM partner_interests WHERE id = :i"), {"i": interest}
        ).scalar_one()
    assert status == "accepted"
