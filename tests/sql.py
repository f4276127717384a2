"""Raw SQL against the database wall: rows committed as the owner, read as the app role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text


def as_tenant(connection, tenant_id) -> None:
    """Set ``app.tenant_id`` for the connection's transaction, as the app does."""
    connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


@contextmanager
def owner_and_app(database_urls: dict, slugs) -> Iterator[tuple[Engine, Engine]]:
    """The owner's and the app role's engines; the associations named ``slugs``
    (and so every row of theirs) are removed before and after."""
    owner = create_engine(database_urls["owner"])
    app = create_engine(database_urls["app"])
    cleanup = text("DELETE FROM tenants WHERE slug = ANY(:s)")
    with owner.begin() as connection:
        connection.execute(cleanup, {"s": list(slugs)})
    try:
        yield owner, app
    finally:
        app.dispose()
        with owner.begin() as connection:
            connection.execute(cleanup, {"s": list(slugs)})
        owner.dispose()
