"""Signed one-click unsubscribe links: they name the association, the contact and
the purpose, need no login, and do not expire (RFC 8058)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from crm.models.mail import PURPOSES

# The public page that takes a token (built on the account-mail branch). Until it
# is registered, links are built by hand at BASE_URL with the same path.
ENDPOINT = "mail.unsubscribe"
PATH = "/unsubscribe/{token}"
# Where links point when BASE_URL is not set (development only: production
# refuses to start without it): the address ``make run`` serves.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="crm.unsubscribe")


def token(tenant_id: int, contact_id: int, purpose: str) -> str:
    return _serializer().dumps([tenant_id, contact_id, purpose])


def read(value: str) -> tuple[int, int, str] | None:
    """(tenant id, contact id, purpose) of a genuine token, else None."""
    try:
        data = _serializer().loads(value)
    except BadSignature:
        return None
    if (
        not isinstance(data, list)
        or len(data) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in data[:2])
        or data[2] not in PURPOSES
    ):
        return None
    return data[0], data[1], data[2]


def headers(url: str) -> dict[str, str]:
    """The headers that let a mail client offer "Unsubscribe" and do it in one POST."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def url(tenant_id: int, contact_id: int, purpose: str) -> str:
    """The absolute one-click unsubscribe link for this contact and purpose, from
    BASE_URL (never from a request's Host header): usable in a background job."""
    from crm.links import external_url

    value = token(tenant_id, contact_id, purpose)
    base = current_app.config.get("BASE_URL")
    if base and ENDPOINT in current_app.view_functions:
        return external_url(ENDPOINT, token=value)
    return (base or DEVELOPMENT_BASE_URL).rstrip("/") + PATH.format(token=value)
