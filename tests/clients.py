"""Test clients already signed in, for tests about what a user may do rather than
about signing in (argon2 is slow on purpose; tests/accounts covers the login)."""

from __future__ import annotations


def client_as(app, identity: str):
    """A client whose session names ``identity``, Flask-Login's user id
    (``user.get_id()``: "id:session_version")."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = identity
        session["_fresh"] = True
    return client
