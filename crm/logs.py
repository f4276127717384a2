"""Request ids and the app's log lines: every request gets an id, sent back in
``X-Request-Id`` (gunicorn's access log prints it) and written with the tenant
on each line the app logs while serving it."""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, current_app, g, has_request_context, request
from flask.logging import default_handler

HEADER = "X-Request-Id"
# What a proxy's id may look like to be kept (no spaces, no control characters:
# it is written into log lines as is).
_PROXY_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
FORMAT = "%(asctime)s %(levelname)s [%(request_id)s %(tenant)s] %(name)s: %(message)s"


class RequestContext(logging.Filter):
    """Adds ``request_id`` and ``tenant`` (the URL's association, '-' outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = record.tenant = "-"
        if has_request_context():
            record.request_id = request_id()
            record.tenant = getattr(g.get("tenant"), "slug", None) or "-"
        return True


def request_id() -> str:
    """This request's id, made on first use: the reverse proxy's when we trust the
    proxy (TRUSTED_PROXIES), so one id follows the request through both logs;
    else a new one. (On first use, not before_request: a URL preprocessor may
    abort the request before any before_request function runs.)"""
    if "request_id" not in g:
        given = request.headers.get(HEADER, "")
        trusted = current_app.config.get("TRUSTED_PROXIES", 0) > 0
        g.request_id = given if trusted and _PROXY_ID.match(given) else uuid.uuid4().hex
    return g.request_id


def _send_request_id(response):
    response.headers[HEADER] = request_id()
    return response


def install(app: Flask) -> None:
    app.after_request(_send_request_id)
    # Flask's handler (to the WSGI server's error stream: gunicorn's error log).
    if not any(isinstance(f, RequestContext) for f in default_handler.filters):
        default_handler.addFilter(RequestContext())
        default_handler.setFormatter(logging.Formatter(FORMAT))
