"""Renewal reminders over simulated days: ``flask crm send-reminders --today D``
run day after day against committed data and a real SMTP server. Each step goes
once per membership and paid-until date (re-runs and missed days included); the
primary contact gets it, else the organisation's contacts who may; exhausted
memberships lapse through the lifecycle service; a renewal starts a new cycle."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from crm.extensions import db
from crm.mail import consent
from crm.mailings import reminders
from crm.models import AssociationMembership, MembershipStatusChange, ReminderLog
from crm.models.mailing import ReminderSettings
from crm.tenancy import tenant_scope
from tests.factories import Factories
from tests.mailings.conftest import sending_app

DUE = date(2027, 1, 31)


@pytest.fixture
def reminder_app(make_app, database_urls):
    with sending_app(make_app, database_urls, None) as app:
        yield app


def _seed(app) -> dict:
    with app.app_context():
        make = Factories(db.session)
        tenant = make.tenant(slug="remind", name="Reminding Association")
        ids = {"tenant": tenant.id}
        with tenant_scope(tenant.id):
            db.session.add(
                ReminderSettings(
                    tenant_id=tenant.id,
                    enabled=True,
                    steps=[-30, -7, 14],
                    lapse_after_days=30,
                    subject=str(reminders.DEFAULT_SUBJECT),
                    body=str(reminders.DEFAULT_BODY),
                )
            )

        def member(name, paid_until, status="active"):
            org = make.org(tenant, name=name)
            ids[name] = make.membership(org, status=status, paid_until=paid_until).id
            return org

        primary = member("Primary Firm", DUE)
        make.contact(primary, first_name="Pia", email="pia@primary.example", is_primary=True)
        make.contact(primary, first_name="Other", email="other@primary.example")
        no_primary = member("Plain Firm", DUE)
        make.contact(no_primary, first_name="Paul", email="paul@plain.example")
        refusing = make.contact(no_primary, first_name="Rita", email="rita@plain.example")
        refused_primary = member("Refused Primary Firm", DUE + timedelta(days=10))
        gone = make.contact(
            refused_primary, first_name="Gus", email="gus@refused.example", is_primary=True
        )
        make.contact(refused_primary, first_name="Vera", email="vera@refused.example")
        make.contact(member("Far Firm", DUE + timedelta(days=300)), email="far@far.example")
        make.contact(member("Lapsed Firm", DUE, status="lapsed"), email="old@lapsed.example")
        with tenant_scope(tenant.id):
            for contact in (refusing, gone):
                consent.record(db.session, tenant.id, contact.id, "membership", False, "contact")
        db.session.commit()
    return ids


def _run(app, day: date) -> None:
    result = app.test_cli_runner().invoke(
        args=["crm", "send-reminders", "--today", day.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "finished" in result.output or "0 association" in result.output, result.output


def test_reminders_go_once_per_step_over_simulated_days(reminder_app):
    app, inbox = reminder_app, reminder_app.inbox
    ids = _seed(app)
    sent_on: dict[str, list[date]] = defaultdict(list)
    missed = {DUE - timedelta(days=7), DUE - timedelta(days=6)}  # the nightly run did not run
    day = DUE - timedelta(days=35)
    while day <= DUE + timedelta(days=45):
        if day not in missed:
            before = len(inbox.messages)
            _run(app, day)
            _run(app, day)  # a re-run the same day sends nothing more
            for message in inbox.messages[before:]:
                sent_on[message["To"]].append(day)
        if day == DUE + timedelta(days=20):  # Primary Firm renews: a year more, a new cycle
            with app.app_context(), tenant_scope(ids["tenant"]):
                db.session.execute(
                    update(AssociationMembership)
                    .where(AssociationMembership.id == ids["Primary Firm"])
                    .values(paid_until=DUE + timedelta(days=365))
                )
                db.session.commit()
        day += timedelta(days=1)

    days = lambda *offsets: [DUE + timedelta(days=o) for o in offsets]  # noqa: E731
    # The primary contact only; the step missed on D-7 and D-6 went on D-5.
    assert sent_on["pia@primary.example"] == days(-30, -5, 14)
    assert "other@primary.example" not in sent_on
    # No primary: every contact who may receive membership mail.
    assert sent_on["paul@plain.example"] == days(-30, -5, 14)
    assert "rita@plain.example" not in sent_on
    # The primary refused membership mail: the others get it.
    assert sent_on["vera@refused.example"] == days(-20, 3, 24)
    assert "gus@refused.example" not in sent_on
    assert set(sent_on) == {"pia@primary.example", "paul@plain.example", "vera@refused.example"}

    message = next(m for m in inbox.messages if m["To"] == "pia@primary.example")
    assert message["Subject"] == (
        "Reminding Association: membership of Primary Firm due for renewal"
    )
    assert "paid until 2027-01-31" in message.get_content()
    assert message["List-Unsubscribe"]

    with app.app_context(), tenant_scope(ids["tenant"]):
        statuses = dict(
            db.session.execute(select(AssociationMembership.id, AssociationMembership.status)).all()
        )
        # Plain Firm, unpaid 30 days after its last reminder: lapsed on D+30, with the reason.
        assert statuses[ids["Plain Firm"]] == "lapsed"
        change = db.session.scalar(
            select(MembershipStatusChange).where(
                MembershipStatusChange.membership_id == ids["Plain Firm"]
            )
        )
        assert (change.from_status, change.to_status, change.effective_on) == (
            "active",
            "lapsed",
            DUE + timedelta(days=30),
        )
        assert "Renewal reminders exhausted" in change.reason
        assert statuses[ids["Primary Firm"]] == "active"  # renewed in time
        assert statuses[ids["Refused Primary Firm"]] == "lapsed"  # D+10+30 = D+40
        assert statuses[ids["Far Firm"]] == "active"
        logged = db.session.execute(select(ReminderLog.membership_id, ReminderLog.step)).all()
        assert len(logged) == len(set(logged)) == 9


def test_windows_never_overlap():
    today = date(2027, 3, 1)
    found = reminders.windows([14, -30, -7], today)
    assert [w.step for w in found] == [-30, -7, 14]
    for paid_until in (today + timedelta(days=d) for d in range(-60, 60)):
        at = [w.step for w in found if w.low < paid_until <= w.high]
        assert len(at) <= 1, (paid_until, at)
