"""Sending a mailing: the background job (kind "mailing.send").

1. The recipients are materialised in one INSERT ... SELECT: the audience's
   contacts who may receive the purpose, with their address as it is now
   (idempotent: the unique key (tenant, mailing, contact) keeps a re-run from
   adding anyone twice).
2. They are sent in small batches over one SMTP connection (``Postman``). A
   batch is first CLAIMED (queued -> sending, committed), then sent, then each
   row's outcome is committed. A sender that dies mid-batch leaves its claimed
   rows in "sending"; the next run marks them failed ("interrupted") instead of
   sending them again: delivery is at most once, never twice.
3. A refused address (5xx) fails alone with the server's answer; a transient
   failure (4xx, lost or refused connection) goes back to the queue and is
   retried in a later round, after MAILING_RETRY_DELAYS; after the last round
   it is failed with the last answer.
4. Pacing: at most MAILING_RATE_PER_SECOND messages a second per sending job
   (one job per mailing; None: no limit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import and_, bindparam, insert, literal, select, update

from crm.extensions import db
from crm.formats import number
from crm.i18n import _, force_locale, tenant_language
from crm.jobs import job_context, run_progress, run_started
from crm.mail import transport, unsubscribe
from crm.mail.transport import MailError
from crm.mailings import audience, merge, queries
from crm.models import AssociationMembership, Contact, Organisation, Tenant
from crm.models.base import utcnow
from crm.models.mail import PURPOSES
from crm.models.mailing import Mailing, MailingRecipient
from crm.tenancy import tenant_scope
from crm.validation import check_email

INTERRUPTED = "interrupted while sending: not sent again, so that nothing is sent twice"
NOT_DELIVERED = "not delivered after {attempts} attempts: {reply}"


def send_job(mailing_id: int, tenant_id: int, run_id: int) -> dict:
    """The job: send mailing ``mailing_id`` of ``tenant_id`` (status "sending")."""
    with job_context(), tenant_scope(tenant_id):
        run_started(run_id, _("choosing the recipients"))
        mailing = db.session.get(Mailing, mailing_id)
        if mailing is None or mailing.status != "sending":
            return {"sent": 0, "failed": 0, "note": "nothing to send"}
        tenant = db.session.get(Tenant, tenant_id)
        if mailing.started_at is None:
            # Once: a resumed run sends to the audience as it was when sending began.
            materialise(db.session, mailing)
            mailing.started_at = utcnow()
        give_up_interrupted(db.session, mailing)
        db.session.commit()
        counts = Sender(mailing.id, tenant, run_id).run()
        mailing = db.session.get(Mailing, mailing_id, populate_existing=True)
        if mailing.status == "sending":
            mailing.status = "sent"
            mailing.finished_at = utcnow()
        db.session.commit()
        return counts


def materialise(session, mailing: Mailing) -> int:
    """Add the recipients a staff mailing's audience resolves to (set-based); a
    reminder's were added by the reminder job. Rows already there stay."""
    if mailing.kind != "mailing":
        return 0
    tenant_id = mailing.tenant_id
    chosen = (
        audience.contacts(mailing.audience, mailing.purpose, tenant_id)
        .add_columns(
            literal(tenant_id).label("tenant_id"),
            literal(mailing.id).label("mailing_id"),
            literal("queued").label("status"),
            literal(0).label("attempts"),
        )
        .where(
            ~select(MailingRecipient.id)
            .where(
                MailingRecipient.tenant_id == tenant_id,
                MailingRecipient.mailing_id == mailing.id,
                MailingRecipient.contact_id == Contact.id,
            )
            .exists()
        )
    )
    table = MailingRecipient.__table__
    # A Core INSERT: tenant scoping does not reach it, so every table it reads
    # names the tenant (audience.contacts does).
    result = session.execute(
        insert(table).from_select(
            ["contact_id", "email", "tenant_id", "mailing_id", "status", "attempts"], chosen
        )
    )
    return result.rowcount


def give_up_interrupted(session, mailing: Mailing) -> int:
    """Rows a dead sender claimed: failed, never sent again (at most once)."""
    return session.execute(
        update(MailingRecipient)
        .where(MailingRecipient.mailing_id == mailing.id, MailingRecipient.status == "sending")
        .values(status="failed", last_error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    ).rowcount


@dataclass
class Sender:
    """Delivers one mailing's queued recipients, round after round."""

    mailing_id: int
    tenant: Tenant
    run_id: int | None
    counts: dict = field(default_factory=lambda: {"sent": 0, "failed": 0, "retried": 0})

    def run(self) -> dict:
        config = current_app.config
        delays = list(config["MAILING_RETRY_DELAYS"])
        self.batch_size = config["MAILING_BATCH_SIZE"]
        rate = config["MAILING_RATE_PER_SECOND"]
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()
        self.total = sum(queries.status_counts(self.mailing_id).values())
        with transport.Postman(db.session) as postman:
            self.postman = postman
            for round_number in range(len(delays) + 1):
                last_round = round_number == len(delays)
                if not self._round(last_round) or last_round:
                    break
                if self.run_id:
                    wait = delays[round_number]
                    message = _(
                        "%(summary)s; retrying the others in %(wait)s s",
                        summary=self._summary(),
                        wait=wait,
                    )
                    run_progress(self.run_id, self._percent(), message)
                time.sleep(delays[round_number])
        return self.counts

    def _round(self, last_round: bool) -> bool:
        """Send every recipient queued now, once; whether some must be tried again."""
        after_id, again = 0, False
        while True:
            if self._cancelled():
                return False
            claimed = self._claim(after_id)
            if not claimed:
                return again
            after_id = max(r.id for r in claimed)
            again |= self._send_batch(claimed, last_round)
            if self.run_id:
                run_progress(self.run_id, self._percent(), self._summary())

    def _cancelled(self) -> bool:
        status = db.session.scalar(select(Mailing.status).where(Mailing.id == self.mailing_id))
        db.session.commit()  # no transaction left open between batches
        return status != "sending"

    def _claim(self, after_id: int) -> list:
        """The next batch of queued recipients, marked "sending" and committed
        (a concurrent sender cannot claim them too), with their merge facts."""
        ids = (
            select(MailingRecipient.id)
            .where(
                MailingRecipient.mailing_id == self.mailing_id,
                MailingRecipient.status == "queued",
                MailingRecipient.id > after_id,
            )
            .order_by(MailingRecipient.id)
            .limit(self.batch_size)
        )
        claimed = db.session.scalars(
            update(MailingRecipient)
            .where(MailingRecipient.id.in_(ids.scalar_subquery()))
            .where(MailingRecipient.status == "queued")
            .values(status="sending", attempts=MailingRecipient.attempts + 1)
            .returning(MailingRecipient.id)
            .execution_options(synchronize_session=False)
        ).all()
        if not claimed:
            db.session.commit()
            return []
        rows = db.session.execute(
            select(
                MailingRecipient.id,
                MailingRecipient.contact_id,
                MailingRecipient.email,
                MailingRecipient.attempts,
                Contact.first_name,
                Contact.last_name,
                Organisation.name.label("organisation"),
                AssociationMembership.paid_until,
            )
            .join(
                Contact,
                and_(
                    Contact.tenant_id == MailingRecipient.tenant_id,
                    Contact.id == MailingRecipient.contact_id,
                ),
            )
            .join(Contact.organisation)
            .outerjoin(Organisation.membership)
            .where(MailingRecipient.id.in_(claimed))
            .order_by(MailingRecipient.id)
        ).all()
        db.session.commit()  # the claim holds before any message leaves
        return rows

    def _send_batch(self, rows, last_round: bool) -> bool:
        mailing = db.session.get(Mailing, self.mailing_id)
        outcomes, again = [], False
        for row in rows:
            self._pace()
            subject = None
            try:
                # Caught here, not by a server: an address saved before the rule, or imported.
                problem = check_email(row.email)
                if problem:
                    raise ValueError(f"invalid address: {problem}")
                message = compose(mailing, self.tenant, row)
                subject = str(message["Subject"])
                self.postman.send(self.tenant.id, message)
            except MailError as error:
                retry = not error.permanent and not last_round
                again |= retry
                status = "queued" if retry else "failed"
                reply = error.reply
                if not error.permanent and not retry:
                    reply = NOT_DELIVERED.format(attempts=row.attempts, reply=error.reply)
                outcomes.append((row.id, status, reply[:2000], None, subject))
                self.counts["retried" if retry else "failed"] += 1
            except (ValueError, TypeError, merge.MergeError) as error:  # a malformed address
                outcomes.append((row.id, "failed", f"not sent: {error}"[:2000], None, subject))
                self.counts["failed"] += 1
            else:
                outcomes.append((row.id, "sent", None, utcnow(), subject))
                self.counts["sent"] += 1
        self._record(outcomes)
        return again

    def _record(self, outcomes: list) -> None:
        """Each recipient's outcome: one executemany UPDATE and one commit per batch."""
        table = MailingRecipient.__table__
        db.session.execute(
            update(table)
            .where(table.c.tenant_id == self.tenant.id, table.c.id == bindparam("recipient_id"))
            .values(
                status=bindparam("new_status"),
                last_error=bindparam("error"),
                sent_at=bindparam("at"),
                subject=bindparam("merged_subject"),
            ),
            [
                {
                    "recipient_id": recipient_id,
                    "new_status": status,
                    "error": error,
                    "at": at,
                    "merged_subject": subject,
                }  # fmt: skip
                for recipient_id, status, error, at, subject in outcomes
            ],
        )
        db.session.commit()

    def _pace(self) -> None:
        if not self.interval:
            return
        wait = self.next_at - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.next_at = max(self.next_at, time.monotonic()) + self.interval

    def _percent(self) -> int:
        done = self.counts["sent"] + self.counts["failed"]
        return int(100 * done / self.total) if self.total else 100

    def _summary(self) -> str:
        return _(
            "%(sent)s sent, %(failed)s failed of %(total)s",
            sent=number(self.counts["sent"]),
            failed=number(self.counts["failed"]),
            total=number(self.total),
        )


def compose(mailing: Mailing, tenant: Tenant, row) -> object:
    """One recipient's message: merged subject and body, the unsubscribe footer
    and headers for the mailing's purpose."""
    recipient = merge.Recipient(
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        organisation=row.organisation,
        paid_until=row.paid_until,
    )
    context = recipient.context(tenant.name)
    link = unsubscribe.url(tenant.id, row.contact_id, mailing.purpose)
    body = merge.render(mailing.body, context).rstrip("\n") + footer(tenant, mailing.purpose, link)
    subject = " ".join(merge.render(mailing.subject, context).split())
    return transport.compose(
        transport.sender_for(tenant), row.email, subject, body, unsubscribe.headers(link)
    )


def footer(tenant: Tenant, purpose: str, link: str) -> str:
    """In the association's language, as the message it ends (contacts choose none)."""
    with force_locale(tenant_language(tenant)):
        return "\n\n-- \n" + _(
            "You receive this from %(association)s (%(purpose)s).\n"
            "To receive no more of these, open: %(link)s\n",
            association=tenant.name,
            purpose=str(PURPOSES[purpose]).lower(),
            link=link,
        )
