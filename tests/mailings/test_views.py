"""The mailing pages: audience summary before sending, template errors as field
errors (sandboxed), preview, a test to oneself, send now (in-process, to a real
SMTP server), schedule, cancel, reminder settings; bounded queries."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.models import AuditEvent, Mailing
from crm.models.mailing import ReminderSettings
from crm.tenancy import tenant_scope
from tests.mailings.support import seed

BODY = (
    "Dear {{ contact.first_name }},\n{{ organisation }} is paid until {{ renewal_date }}.\n"
    "{{ association }}\n"
)


@pytest.fixture
def site(make, session, signed_in):
    tenant = make.tenant(slug="mail-assoc", name="Mail Association")
    staff = make.user(tenant, role="secretariat", email="sec@mail-assoc.example.org")
    admin = make.user(tenant, role="tenant_admin")
    audience = seed(session, make, tenant, firms=3, per_firm=2, opted_out=1)
    return tenant, signed_in(staff), staff, admin, audience


def _mailing_of(session, tenant) -> Mailing | None:
    """The tenant's latest mailing, read afresh in its scope (row-level security)."""
    with tenant_scope(tenant.id):
        session.expire_all()
        mailing = session.scalars(select(Mailing).order_by(Mailing.id.desc())).first()
        if mailing is not None:
            session.refresh(mailing)  # every attribute loaded while in scope
        return mailing


def _create(client, **data):
    form = {"name": "Winter news", "purpose": "membership", "subject": "News, {{ organisation }}"}
    form.update({"body": BODY, **data})
    return client.post("/mail-assoc/mailings/new?kind=firm", data=form)


def test_the_audience_and_its_exclusions_are_shown_before_sending(site):
    tenant, client, *_ = site
    page = client.get("/mail-assoc/mailings/new?kind=firm&sort=city&page=3")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "kind = firm" in text and "sort" not in text.split("Who receives it")[1][:300]
    assert "<strong>5 contacts</strong> will receive it" in text
    assert "<strong>1</strong> is excluded because they opted out" in text
    assert "1 without an e-mail address" in text
    # The directory offers the link with its current filters.
    directory = client.get("/mail-assoc/members?kind=firm").get_data(as_text=True)
    assert "/mail-assoc/mailings/new?kind=firm" in directory


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Dear {{ contact.nickname }}", "Unknown merge field"),
        ("Dear {{ nobody }}", "Unknown merge field"),
        ("{{ contact.__class__ }}", "not allowed"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed"),
        ("{{ cycler.__init__.__globals__ }}", "not allowed"),
        ("{{ contact.items }}", "Unknown merge field"),
        ("Dear {{ organisation", "Template error on line 1"),
        ("{% for x in range(10**9) %}{% endfor %}", "cannot be rendered"),
    ],
)
def test_bad_templates_are_field_errors_never_a_500(site, session, body, message):
    tenant, client, *_ = site
    response = _create(client, body=body)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="body-error"' in text and message in text
    assert _mailing_of(session, tenant) is None


def test_preview_and_a_test_message_to_oneself(site, session, smtp_server):
    tenant, client, staff, _, audience = site
    created = _create(client)
    assert created.status_code == 302
    mailing = _mailing_of(session, tenant)
    mailing_id = mailing.id
    assert mailing.audience == {"kind": "directory", "args": {"kind": "firm"}}
    page = client.get(f"/mail-assoc/mailings/{mailing_id}").get_data(as_text=True)
    # The preview is for a real recipient of the audience (the first who may receive it).
    first = next(c for c in audience.contacts if c[1] not in audience.opted_out)
    assert f"Dear {first[2]}," in page and f"News, {first[3]}" in page
    assert "List-Unsubscribe" in page and "/unsubscribe/" in page

    assert client.post(f"/mail-assoc/mailings/{mailing_id}/test").status_code == 302
    [test_message] = smtp_server.messages
    assert test_message["To"] == staff.email
    assert test_message["Subject"] == "[TEST] News, Sample Firm"
    assert len(smtp_server.messages) == 1

    with tenant_scope(tenant.id):
        actions = set(
            session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity_type == "mailings", AuditEvent.entity_id == mailing_id
                )
            )
        )
    assert {"create", "mailing_test"} <= actions


def test_cancel_and_edit_rules(site, session, smtp_server):
    tenant, client, *_ = site
    _create(client)
    mailing = _mailing_of(session, tenant)
    mailing_id, version = mailing.id, mailing.version
    stale = client.post(
        f"/mail-assoc/mailings/{mailing_id}/edit",
        data={
            "name": "Mine",
            "purpose": "membership",
            "subject": "S",
            "body": BODY,
            "version": version - 1,
        },  # fmt: skip
    )
    assert stale.status_code == 409  # opened before someone else's save: nothing overwritten
    edit = client.post(
        f"/mail-assoc/mailings/{mailing_id}/edit",
        data={
            "name": "Renamed",
            "purpose": "newsletters",
            "subject": "S",
            "body": BODY,
            "version": version,
        },  # fmt: skip
    )
    assert edit.status_code == 302
    mailing = _mailing_of(session, tenant)
    assert (mailing.name, mailing.purpose) == ("Renamed", "newsletters")
    # Newsletters need a consent given: nobody here agreed, so nobody would get it.
    page = client.get(f"/mail-assoc/mailings/{mailing_id}").get_data(as_text=True)
    assert "<strong>0 contacts</strong> will receive it" in page
    assert client.post(f"/mail-assoc/mailings/{mailing_id}/cancel").status_code == 302
    assert _mailing_of(session, tenant).status == "cancelled"
    client.post(f"/mail-assoc/mailings/{mailing_id}/send")
    assert smtp_server.messages == []
    again = client.get(f"/mail-assoc/mailings/{mailing_id}/edit")
    assert again.status_code == 302


def test_pages_run_a_bounded_number_of_queries(site, session, make, count_queries):
    tenant, client, *_ = site
    _create(client)
    mailing_id = _mailing_of(session, tenant).id

    def counted(path: str) -> int:
        with count_queries() as q:
            assert client.get(path).status_code == 200
        return q.count

    show, listing = counted(f"/mail-assoc/mailings/{mailing_id}"), counted("/mail-assoc/mailings")
    seed(session, make, tenant, firms=6, per_firm=3, opted_out=4)
    for n in range(3):
        make.mailing(tenant, name=f"Other {n}")
    assert counted(f"/mail-assoc/mailings/{mailing_id}") == show
    assert counted("/mail-assoc/mailings") == listing


def test_reminder_settings_are_for_admins(site, session, signed_in):
    tenant, client, _, admin, _ = site
    assert client.get("/mail-assoc/mailings/reminders").status_code == 404
    admin_client = signed_in(admin)
    page = admin_client.get("/mail-assoc/mailings/reminders")
    assert page.status_code == 200 and 'value="30, 7"' in page.get_data(as_text=True)
    form = {"enabled": "y", "days_before": "30, 7", "days_after": "14", "subject": "Due",
            "body": "Dear {{ contact.first_name }}"}  # fmt: skip
    bad = admin_client.post(
        "/mail-assoc/mailings/reminders", data={**form, "lapse_after_days": "14"}
    )
    assert bad.status_code == 422 and "Lapse after the last reminder" in bad.get_data(as_text=True)
    typo = admin_client.post("/mail-assoc/mailings/reminders", data={**form, "days_after": "x"})
    assert typo.status_code == 422
    sandbox = admin_client.post(
        "/mail-assoc/mailings/reminders", data={**form, "body": "{{ contact.__class__ }}"}
    )
    assert sandbox.status_code == 422
    saved = admin_client.post(
        "/mail-assoc/mailings/reminders", data={**form, "lapse_after_days": "30"}
    )
    assert saved.status_code == 302
    with tenant_scope(tenant.id):
        settings = session.scalar(select(ReminderSettings))
        assert (settings.enabled, settings.steps, settings.lapse_after_days) == (
            True,
            [-30, -7, 14],
            30,
        )
        assert session.scalar(select(func.count()).select_from(ReminderSettings)) == 1
