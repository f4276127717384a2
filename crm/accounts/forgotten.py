""" "Forgot password?": a reset link by e-mail, without telling who has an account.

The page answers the same, in the same time, whether or not the address has an
account: the request only checks the throttles and schedules the work; looking
the address up, issuing the link and sending it happen once the answer is
written (``Response.call_on_close``), so neither the page nor its timing says
whether an account exists.

Throttled twice, in Flask-Limiter's storage (Redis when configured): per client
(``FORGOT_PASSWORD_PER_CLIENT``, a 429 page), and per address
(``FORGOT_PASSWORD_PER_ADDRESS``): past it the same answer is given and nothing
is sent, so nobody can flood a person's mailbox, and the answer still says
nothing about the address.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from limits import parse

from crm import tenancy
from crm.accounts import mail, services
from crm.extensions import db, limiter
from crm.mail.transport import MailError


def client_limit() -> str:
    return current_app.config["FORGOT_PASSWORD_PER_CLIENT"]


def address_allowed(email: str) -> bool:
    """Count one request for this address; False once it is over its limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    item = parse(current_app.config["FORGOT_PASSWORD_PER_ADDRESS"])
    return limiter.limiter.hit(item, "forgot-password-address", digest)


def send_after_response(response, email: str):
    """Have ``response`` look the address up and send the link once it is written."""
    app = current_app._get_current_object()
    # Outside the request the link still needs the site's address (BASE_URL, or
    # in development the one in use) and the audit event the client's address.
    base_url, address = request.host_url, tenancy.client_ip()
    response.call_on_close(lambda: _send(app, email, base_url, address))
    return response


def _send(app: Flask, email: str, base_url: str, address: str | None) -> None:
    environ = {"REMOTE_ADDR": address or ""}
    with app.test_request_context(base_url=base_url, environ_overrides=environ):
        with tenancy.tenant_scope(None):  # the user's scope is entered by the lookup
            try:
                send_reset_link(email)
            except Exception:  # the answer is gone already: log, never raise
                db.session.rollback()
                app.logger.exception("forgot password: the link could not be sent")


def send_reset_link(email: str) -> None:
    """Issue and send a reset link if ``email`` is an active user's; else nothing."""
    user = services.find_user_by_email(db.session, email)
    if user is None or not user.active:
        return
    token = services.issue_reset_token(db.session, user)
    db.session.commit()  # the event stays even if the mail fails
    try:
        mail.send_reset_link(db.session, user, services.reset_link(token))
    except MailError as error:
        app_log = current_app.logger
        app_log.warning("forgot password: mail to user %s refused: %s", user.id, error.reply)
    db.session.commit()  # the outbox row, without SMTP
