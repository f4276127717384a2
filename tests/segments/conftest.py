"""The members tests' association (secretariat signed in) for segments, tags,
the contacts list and bulk actions."""

from tests.members.conftest import assoc  # noqa: F401
