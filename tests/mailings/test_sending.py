"""Sending mailings for real: committed data, a real SMTP server (aiosmtpd), and
the job on a real rq worker (or in-process without Redis).

Exactly the recipients who may receive it get it, once, with their merge fields
and the unsubscribe headers; a refused address fails alone with the server's
answer; a deferring or disconnecting server is retried, then failed; nothing is
ever sent twice; an unsubscribe stops the next mailing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, update

from crm.extensions import db
from crm.jobs import QUEUE_NAME
from crm.mail import consent, unsubscribe
from crm.mailings.jobs import send_due_mailings
from crm.models import Contact, JobRun, Mailing, MailingRecipient
from crm.tenancy import tenant_scope
from tests.clients import client_as
from tests.factories import Factories
from tests.mailings.conftest import sending_app
from tests.mailings.support import seed

SLUG = "mail-send"
BODY = (
    "Dear {{ contact.first_name }},\n"
    "{{ organisation }}: membership paid until {{ renewal_date }}.\n"
    "{{ association }}\n"
)


@pytest.fixture(params=["rq", "in-process"])
def mail_app(make_app, database_urls, request):
    """A committed app sending to a real SMTP server; its jobs on the test Redis
    (a real worker) or in-process, as the param says."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "rq" else None
    with sending_app(make_app, database_urls, redis_url) as app:
        yield app


def work(app) -> None:
    """A real rq worker in this process until the queue is empty (no-op in-process)."""
    connection = app.extensions.get("crm.redis")
    if connection is None:
        return
    with app.app_context():
        db.session.remove()  # an open read transaction would hold up the job
        SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
            burst=True
        )


def _seed(app, firms: int, per_firm: int, opted_out: int):
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug=SLUG, name="Sending Association")
        with tenant_scope(tenant.id):
            audience = seed(db.session, make, tenant, firms, per_firm, opted_out)
        user = make.user(tenant, role="secretariat", email="sec@mail-send.example.org")
        seeded = tenant.id, user.get_id(), audience
        db.session.commit()
    return seeded


def _create_and_send(app, identity: str, query: str = "kind=firm", purpose: str = "membership"):
    client = client_as(app, identity)
    created = client.post(
        f"/{SLUG}/mailings/new?{query}",
        data={
            "name": "Renewals",
            "purpose": purpose,
            "subject": "{{ organisation }}",
            "body": BODY,
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    mailing_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    sent = client.post(f"/{SLUG}/mailings/{mailing_id}/send")
    assert sent.status_code == 302
    work(app)
    return client, mailing_id


def _recipients(app, tenant_id: int, mailing_id: int) -> dict[str, MailingRecipient]:
    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.scalars(
            select(MailingRecipient).where(MailingRecipient.mailing_id == mailing_id)
        ).all()
        db.session.expunge_all()
    return {r.email: r for r in rows}


def test_200_contacts_10_opted_out_exactly_190_delivered_with_merge_fields(mail_app):
    app, inbox = mail_app, mail_app.inbox
    tenant_id, identity, audience = _seed(app, firms=40, per_firm=5, opted_out=10)
    client, mailing_id = _create_and_send(app, identity)

    receiving = {c[1]: c for c in audience.contacts if c[1] not in audience.opted_out}
    assert len(receiving) == 190
    delivered = [m["To"] for m in inbox.messages]
    assert len(delivered) == 190 and set(delivered) == set(receiving)  # each exactly once
    assert not set(delivered) & (set(audience.opted_out) | set(audience.outsider_emails))
    for message in inbox.messages:
        contact_id, email, first_name, org_name = receiving[message["To"]]
        assert message["Subject"] == org_name
        body = message.get_content()
        assert f"Dear {first_name},\n" in body.replace("\r\n", "\n")
        assert f"{org_name}: membership paid until ." in body  # no membership: empty date
        assert "Sending Association" in body
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = message["List-Unsubscribe"].strip("<>")
        assert link in body  # the footer carries the same link
        token = urlsplit(link).path.rsplit("/", 1)[1]
        with app.app_context():
            assert unsubscribe.read(token) == (tenant_id, contact_id, "membership")

    recipients = _recipients(app, tenant_id, mailing_id)
    assert len(recipients) == 190
    assert {r.status for r in recipients.values()} == {"sent"}
    assert all(r.attempts == 1 and r.sent_at for r in recipients.values())
    status = client.get(f"/{SLUG}/mailings/{mailing_id}/status").get_json()
    assert status["status"] == "finished" and status["progress"] == 100
    assert status["counts"] == {"sent": 190}
    page = client.get(f"/{SLUG}/mailings/{mailing_id}").get_data(as_text=True)
    assert "Sent (190)" in page and "page 1 of 4" in page
    export = client.get(f"/{SLUG}/mailings/{mailing_id}/recipients.csv")
    assert len(export.get_data(as_text=True).splitlines()) == 1 + 190


def test_refused_fails_alone_deferred_and_dropped_are_retried_then_failed(mail_app):
    app, inbox = mail_app, mail_app.inbox
    tenant_id, identity, audience = _seed(app, firms=3, per_firm=3, opted_out=0)
    emails = [c[1] for c in audience.contacts]
    refused, deferred, dropped = emails[1], emails[4], emails[7]
    inbox.refuse.add(refused)
    inbox.defer.add(deferred)
    inbox.drop.add(dropped)
    with app.app_context(), tenant_scope(tenant_id):  # saved before any rule checked it
        table = Contact.__table__
        invalid = "no-at-sign.example.org"
        db.session.execute(update(table).where(table.c.email == emails[5]).values(email=invalid))
        db.session.commit()
    _, mailing_id = _create_and_send(app, identity)

    delivered = [m["To"] for m in inbox.messages]
    assert sorted(delivered) == sorted(set(emails) - {refused, deferred, dropped, emails[5]})
    recipients = _recipients(app, tenant_id, mailing_id)
    assert recipients[invalid].status == "failed"
    assert recipients[invalid].last_error.startswith("not sent: invalid address")
    assert recipients[refused].status == "failed"
    assert recipients[refused].attempts == 1  # a 5xx is not retried
    assert recipients[refused].last_error.startswith("550 5.1.1 No such user here")
    rounds = len(app.config["MAILING_RETRY_DELAYS"]) + 1
    for address, answer in ((deferred, "451 4.3.0 Try again later"), (dropped, "")):
        assert recipients[address].status == "failed"
        assert recipients[address].attempts == rounds
        assert recipients[address].last_error.startswith(f"not delivered after {rounds} attempts")
        assert answer in recipients[address].last_error

    # Sending it again (a user's click, a requeued job) sends nobody twice.
    with app.app_context(), tenant_scope(tenant_id):
        from crm.mailings import services

        mailing = db.session.get(Mailing, mailing_id)
        assert mailing.status == "sent"
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(status="sending"))
        db.session.commit()
        services.start_sending(db.session, db.session.get(Mailing, mailing_id), None)
    work(app)
    assert len(inbox.messages) == len(delivered)


def test_an_unreachable_server_is_retried_then_failed_and_a_dead_senders_rows_never_resent(
    mail_app,
):
    app, inbox = mail_app, mail_app.inbox
    tenant_id, identity, audience = _seed(app, firms=2, per_firm=2, opted_out=0)
    url = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens: connection refused
    try:
        _, mailing_id = _create_and_send(app, identity)
    finally:
        app.config["SMTP_URL"] = url
    recipients = _recipients(app, tenant_id, mailing_id)
    assert {r.status for r in recipients.values()} == {"failed"}
    assert all("ConnectionRefusedError" in r.last_error for r in recipients.values())
    assert inbox.messages == []

    # A sender that died mid-batch left a claimed row: the next run fails it, never resends it.
    with app.app_context(), tenant_scope(tenant_id):
        from crm.mailings import services

        table = MailingRecipient.__table__
        first, *others = sorted(recipients.values(), key=lambda r: r.id)
        db.session.execute(update(table).where(table.c.id == first.id).values(status="sending"))
        db.session.execute(
            update(table)
            .where(table.c.id.in_([r.id for r in others]))
            .values(status="queued", attempts=0)
        )
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(status="sending"))
        # Joined the audience after sending began: a resumed run does not add it.
        firm = db.session.get(Contact, audience.contacts[0][0]).organisation
        Factories(db.session).contact(firm, email="late@example.org")
        db.session.commit()
        services.start_sending(db.session, db.session.get(Mailing, mailing_id), None)
    work(app)
    assert sorted(m["To"] for m in inbox.messages) == sorted(r.email for r in others)
    after = _recipients(app, tenant_id, mailing_id)
    assert after[first.email].status == "failed"
    assert after[first.email].last_error.startswith("interrupted while sending")


def test_following_the_unsubscribe_link_stops_the_next_mailing(mail_app):
    app, inbox = mail_app, mail_app.inbox
    tenant_id, identity, audience = _seed(app, firms=2, per_firm=3, opted_out=0)
    _create_and_send(app, identity)
    assert len(inbox.messages) == 6
    leaving = inbox.messages[2]
    token = urlsplit(leaving["List-Unsubscribe"].strip("<>")).path.rsplit("/", 1)[1]
    # What the public unsubscribe page does with the token (branch accountmail).
    with app.app_context():
        token_tenant, contact_id, purpose = unsubscribe.read(token)
        with tenant_scope(token_tenant):
            consent.record(db.session, token_tenant, contact_id, purpose, False, "unsubscribe")
            db.session.commit()
    inbox.messages.clear()
    _create_and_send(app, identity)
    delivered = sorted(m["To"] for m in inbox.messages)
    assert len(delivered) == 5 and leaving["To"] not in delivered


def test_a_scheduled_mailing_goes_when_due_once(mail_app):
    app, inbox = mail_app, mail_app.inbox
    tenant_id, identity, _ = _seed(app, firms=2, per_firm=1, opted_out=0)
    client = client_as(app, identity)
    client.post(
        f"/{SLUG}/mailings/new",
        data={"name": "Later", "purpose": "membership", "subject": "S", "body": BODY},
    )
    with app.app_context(), tenant_scope(tenant_id):
        mailing_id = db.session.scalar(select(Mailing.id))
    # Typed in the association's time zone, hours ahead of UTC at most: still ahead.
    future = (datetime.now(UTC) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    assert (
        client.post(f"/{SLUG}/mailings/{mailing_id}/schedule", data={"when": future}).status_code
        == 302
    )
    with app.app_context():
        assert send_due_mailings() == 0
        with tenant_scope(tenant_id):
            db.session.execute(
                update(Mailing).values(scheduled_at=datetime.now(UTC) - timedelta(minutes=1))
            )
            db.session.commit()
        assert send_due_mailings() == 1
        assert send_due_mailings() == 0
    work(app)
    assert len(inbox.messages) == 3  # two firms' contacts and the university's (no filter)
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.get(Mailing, mailing_id).status == "sent"
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_pacing_keeps_to_the_rate(make_app, database_urls):
    with sending_app(make_app, database_urls, None, MAILING_RATE_PER_SECOND=20) as app:
        _, identity, _ = _seed(app, firms=5, per_firm=4, opted_out=0)
        started = datetime.now(UTC)
        _create_and_send(app, identity)
        elapsed = (datetime.now(UTC) - started).total_seconds()
    assert len(app.inbox.messages) == 20
    assert elapsed >= 19 / 20  # 20 messages at 20 a second: 19 intervals at least


def test_contact_query_lists_what_was_sent(mail_app):
    app = mail_app
    tenant_id, identity, audience = _seed(app, firms=1, per_firm=2, opted_out=0)
    _create_and_send(app, identity)
    from crm.mailings.queries import sent_to_contact, sent_to_organisation

    with app.app_context(), tenant_scope(tenant_id):
        contact = db.session.get(Contact, audience.contacts[0][0])
        [row] = sent_to_contact(contact.id)
        assert (row.subject, row.status, row.email) == ("Firm 000", "sent", contact.email)
        assert row.by and row.when
        assert len(sent_to_organisation(contact.organisation_id)) == 2
    with app.app_context(), tenant_scope(tenant_id + 1000):
        assert sent_to_contact(contact.id) == []  # another scope sees nothing


def test_the_cron_schedule_dispatches_due_mailings_and_reminders_on_a_worker(
    make_app, database_urls, redis_url
):
    """``rq cron crm.metrics.schedule``: its mailing jobs, enqueued as rq cron does,
    run on a real worker (no app context of their own: the worker's app)."""
    from rq.cron import CronScheduler

    from crm.models import ReminderSettings

    with sending_app(make_app, database_urls, redis_url) as app:
        tenant_id, identity, _ = _seed(app, firms=1, per_firm=2, opted_out=0)
        client = client_as(app, identity)
        client.post(
            f"/{SLUG}/mailings/new",
            data={"name": "Due", "purpose": "membership", "subject": "S", "body": BODY},
        )
        with app.app_context(), tenant_scope(tenant_id):
            db.session.execute(
                update(Mailing).values(
                    status="scheduled", scheduled_at=datetime.now(UTC) - timedelta(minutes=1)
                )
            )
            db.session.add(
                ReminderSettings(
                    tenant_id=tenant_id, enabled=True, steps=[-7], subject="S", body="B"
                )
            )
            db.session.commit()
        connection = app.extensions["crm.redis"]
        scheduler = CronScheduler(connection=connection)
        scheduler.load_config_from_file("crm.metrics.schedule")  # what `rq cron` does
        by_name = {cron_job.name: cron_job for cron_job in scheduler.get_jobs()}
        by_name["mailings-dispatch-scheduled"].enqueue(connection)
        by_name["mailings-nightly-renewal-reminders"].enqueue(connection)
        work(app)
        assert len(app.inbox.messages) == 3  # the firm's two contacts, the university's one
        with app.app_context(), tenant_scope(tenant_id):
            assert db.session.scalar(select(Mailing.status)) == "sent"
            kinds = set(db.session.scalars(select(JobRun.kind)))
            assert kinds == {"mailing.send", "mailing.reminders"}
            statuses = set(db.session.scalars(select(JobRun.status)))
            assert statuses == {"finished"}
