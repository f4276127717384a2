"""Views of the imports area."""

from crm.imports import bp  # noqa: F401
