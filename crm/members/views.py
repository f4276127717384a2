"""Views of the members area."""

from crm.members import bp  # noqa: F401
