"""Fixtures for the renewals tests: the members area's signed-in association."""

from tests.members.conftest import assoc  # noqa: F401
