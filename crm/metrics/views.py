"""Views of the metrics area."""

from crm.metrics import bp  # noqa: F401
