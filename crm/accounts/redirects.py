"""Where a ``next`` parameter may send someone after sign-in: a path of this
site, parsed and rebuilt, or else the start page."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

from flask import url_for

# Browsers drop tabs and newlines inside a URL and read "\" as "/", so
# "/\t/evil.example" or "/\\evil.example" would leave the site.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(value: str | None) -> str:
    """``value`` if it is a same-site path (one leading "/", no scheme, no
    host, no backslash, no control character, also once percent-decoded),
    rebuilt from its parts; otherwise the start page."""
    home = url_for("core.home")
    if not value or not isinstance(value, str) or len(value) > 2000:
        return home
    for text in (value, unquote(value)):
        if _UNSAFE.search(text) or not text.startswith("/") or text.startswith("//"):
            return home
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return home
    return urlunsplit(("", "", parts.path, parts.query, "")) or home
