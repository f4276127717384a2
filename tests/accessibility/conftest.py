"""The demo alliance (a small scale), served once for the accessibility tests,
with the records the demo does not make (a segment, a tag, a mailing, an import)
so that every page has something to show."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.tenancy import tenant_scope
from tests.conftest import _truncate_all, close_app, serving
from tests.factories import Factories

SLUG = "afpc"
PASSWORD = "demo-password-2026"
# Who signs in, by role: the demo's logins (README.md).
LOGINS = {
    "alliance_admin": "admin@alliance.example.org",
    "alliance_analyst": "analyst@alliance.example.org",
    "tenant_admin": f"admin@{SLUG}.example.org",
    "secretariat": f"secretariat@{SLUG}.example.org",
    "cluster_manager": f"manager@{SLUG}.example.org",
}


@dataclass
class DemoSite:
    app: object
    url: str
    public_paths: list[str]  # pages for whoever holds a link (tokens), signed out
    staff_paths: list[str]  # pages reached only after a form (a bulk action, an export)


def _records_the_demo_lacks(app) -> tuple[list[str], list[str]]:
    """Add a tag, a segment, a mailing, an import, a message in the outbox, a bulk
    action and an export to the association; return the signed-out pages that need
    a token (unsubscribe, password reset) and the staff's pages that only a form
    leads to."""
    from crm.accounts.services import issue_reset_token
    from crm.bulk.jobs import KIND as BULK
    from crm.downloads.exports import KIND as EXPORT
    from crm.mail.unsubscribe import token as unsubscribe_token
    from crm.models import Contact, JobRun, Organisation, OutboxMessage, Tenant, User

    with app.app_context():
        make = Factories(db.session)
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        tenant_id = tenant.id
        with tenant_scope(tenant_id):
            org = db.session.scalars(select(Organisation).order_by(Organisation.id)).first()
            contact = db.session.scalars(select(Contact).order_by(Contact.id)).first()
            manager = db.session.scalar(select(User).where(User.email == LOGINS["cluster_manager"]))
            tag = make.tag(tenant, name="Accessibility check")
            make.tagged(tag, org, contact)
            make.segment(tenant, name="Firms", filters={"kind": "firm"})
            make.mailing(tenant)
            make.import_batch(tenant)
            reset = issue_reset_token(db.session, manager)
            unsubscribe = unsubscribe_token(tenant_id, contact.id, "membership")
            db.session.add(
                OutboxMessage(
                    tenant_id=tenant_id,
                    sender=f"secretariat@{SLUG}.example.org",
                    recipient=contact.email or "someone@example.org",
                    subject="Your membership",
                    body="Dear member,\nyour membership is due.",
                    headers={},
                )
            )
            runs = [
                JobRun(kind=kind, tenant_id=tenant_id, status="failed", error="Stopped.")
                for kind in (BULK, EXPORT)
            ]
            db.session.add_all(runs)
            db.session.flush()
            staff = [f"/{SLUG}/bulk/{runs[0].id}", f"/{SLUG}/exports/{runs[1].id}"]
        db.session.commit()
    public = [f"/unsubscribe/{unsubscribe}", f"/reset/{reset}", "/reset/not-a-token"]
    return public, staff


@pytest.fixture(scope="package")
def demo_site(make_app, database_urls):
    app = make_app()
    try:
        result = app.test_cli_runner().invoke(
            args=["crm", "seed-demo", "--scale", "0.003", "--today", "2026-11-25"]
        )
        assert result.exit_code == 0, result.output
        public, staff = _records_the_demo_lacks(app)
        with serving(app) as url:
            yield DemoSite(app, url, public, staff)
    finally:
        close_app(app)
        _truncate_all(database_urls["owner"])


def in_language_of_demo(app, text: str) -> str:
    """``text`` as the demo association's users read it once signed in (its country's
    language: afpc is French), so the walks hold in that language too."""
    from crm.i18n import _, force_locale

    with app.test_request_context(), force_locale("fr"):
        return _(text)


def sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
