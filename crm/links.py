"""Absolute links that leave the site (password links): built from BASE_URL.

The request's Host header is chosen by whoever sends the request, so a link
built from it could point a user at someone else's server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint`` at BASE_URL. Without BASE_URL (development
    only: production refuses to start without it) the address in use."""
    base = current_app.config.get("BASE_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)
