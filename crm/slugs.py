"""Which association slugs are allowed: the shape, and the words the site's own
addresses use (``/login``, ``/static/…``), which a tenant named so would shadow."""

from __future__ import annotations

import re

from flask import current_app
from wtforms.validators import ValidationError

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")

# Not (yet) a route, but likely to become one or to be mistaken for the site's own.
FUTURE_WORDS = frozenset(
    {
        "about", "account", "accounts", "admin", "api", "app", "assets", "auth", "cdn",
        "docs", "files", "health", "healthz", "help", "logout", "media", "metrics",
        "new", "oauth", "register", "settings", "signin", "signup", "sso", "status",
        "support", "system", "uploads", "users", "www",
    }
)  # fmt: skip


def reserved_slugs(app=None) -> frozenset[str]:
    """First path segments of the app's own routes (``/<tenant>/…`` aside), plus
    FUTURE_WORDS; derived from the URL map, so a new top-level route is covered."""
    app = app or current_app
    segments = {rule.rule.lstrip("/").split("/", 1)[0] for rule in app.url_map.iter_rules()}
    return frozenset(s for s in segments if s and "<" not in s) | FUTURE_WORDS


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot name an association, or None when it can."""
    if not SLUG.match(slug or ""):
        return "Use 2–40 lower-case letters, digits and hyphens, starting with a letter or digit."
    if slug in reserved_slugs():
        return f"“{slug}” is a word the site's own addresses use; choose another short name."
    return None


def valid_slug(_form, field) -> None:
    """WTForms validator built on ``slug_problem``."""
    if problem := slug_problem(field.data):
        raise ValidationError(problem)
