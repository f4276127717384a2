""" "Forgot password?": a reset link by e-mail, without telling who has an account.

The page answers the same, in the same time, whether or not the address has an
account: the request only checks the limits and schedules the work; looking
the address up, issuing the link and sending it happen once the answer is
written (``Response.call_on_close``), so neither the page nor its timing says
whether an account exists.

Limited twice: per client (``FORGOT_PASSWORD_PER_CLIENT``: then a 429 page), and
per address (``FORGOT_PASSWORD_PER_ADDRESS``: past it the same answer is given
and nothing is sent, so nobody can flood a person's mailbox, and the answer
still says nothing about the address). The counts are kept by the ``limits``
library (Flask-Limiter's own) in Redis when ``REDIS_URL`` is set, else, and
while Redis does not answer, in this process's memory, as the sign-in throttle
does. Per app rather than through the ``limiter`` singleton, whose storage is
that of the last app it was bound to.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from crm import tenancy
from crm.accounts import mail, services
from crm.extensions import db
from crm.mail.transport import MailError

_KEY = "crm.forgot_password_limits"


class _Limits:
    def __init__(self, redis_url: str | None, timeout: float) -> None:
        self.memory = FixedWindowRateLimiter(MemoryStorage())
        self.shared = None
        if redis_url:
            storage = storage_from_string(
                redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            self.shared = FixedWindowRateLimiter(storage)

    def hit(self, limit: str, *keys: str) -> bool:
        """Count one request; False once ``limit`` is passed."""
        if self.shared is not None:
            try:
                return self.shared.hit(parse(limit), "forgot-password", *keys)
            except Exception as error:  # noqa: BLE001 - Redis does not answer
                current_app.logger.warning("forgot password: counting in memory: %s", error)
        return self.memory.hit(parse(limit), "forgot-password", *keys)

    def reset(self) -> None:
        self.memory.storage.reset()
        if self.shared is not None:
            self.shared.storage.reset()


def _limits() -> _Limits:
    limits = current_app.extensions.get(_KEY)
    if limits is None:
        config = current_app.config
        limits = current_app.extensions[_KEY] = _Limits(
            config.get("REDIS_URL"), config["REDIS_TIMEOUT"]
        )
    return limits


def _enabled() -> bool:
    return current_app.config.get("RATELIMIT_ENABLED", True)


def client_allowed(address: str | None) -> bool:
    """Count one request from this client; False once it is over its limit."""
    limit = current_app.config["FORGOT_PASSWORD_PER_CLIENT"]
    return not _enabled() or _limits().hit(limit, "client", address or "")


def address_allowed(email: str) -> bool:
    """Count one request for this address; False once it is over its limit."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    limit = current_app.config["FORGOT_PASSWORD_PER_ADDRESS"]
    return not _enabled() or _limits().hit(limit, "address", digest)


def reset_all() -> None:
    """Forget every count (tests, or an operator after an incident)."""
    _limits().reset()


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
    # A request context of its own (the request's is gone by now): url_for
    # without BASE_URL and the audit event's address need one.
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
        current_app.logger.warning(
            "forgot password: mail to user %s refused: %s", user.id, error.reply
        )
    db.session.commit()  # the outbox row, without SMTP
