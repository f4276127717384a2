"""Views of the alliance area."""

from crm.alliance import bp  # noqa: F401
