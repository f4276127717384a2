"""Views of the projects area."""

from crm.projects import bp  # noqa: F401
