"""Mailing fixtures: a committed app sending to a real SMTP server."""

from __future__ import annotations

from contextlib import contextmanager

from tests.conftest import jobs_app
from tests.members.conftest import assoc  # noqa: F401
from tests.smtp import running_server


@contextmanager
def sending_app(make_app, database_urls, redis_url: str | None, **config):
    """``jobs_app`` (committed data; jobs on ``redis_url`` or in-process) whose mail
    goes to a real aiosmtpd server in this process: ``app.inbox``."""
    controller, inbox = running_server()
    try:
        with jobs_app(make_app, database_urls, redis_url, SMTP_URL=inbox.url, **config) as app:
            app.inbox = inbox
            yield app
    finally:
        controller.stop()
