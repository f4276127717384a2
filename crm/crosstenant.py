"""The one narrow path that reads across tenants.

It connects with ``METRICS_DATABASE_URL`` (a role with BYPASSRLS that may read
only the columns the metrics need, ``crm.database.METRICS_COLUMNS``: no users,
no names or contact details) and is used only by the metrics code and the grant
matching below; a query here that reads another column is refused. What
leaves this module is aggregates and country codes, never a tenant's records.
Without that setting (SQLite, the embedded default) it uses the app's own
database URL.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import Engine, create_engine, text

from crm.dialects import timeout_options, tune_sqlite


def engine() -> Engine:
    app = current_app._get_current_object()
    cached = app.extensions.get("crm.crosstenant_engine")
    if cached is None:
        url = app.config.get("METRICS_DATABASE_URL") or app.config["SQLALCHEMY_DATABASE_URI"]
        cached = create_engine(url, **metrics_engine_options(app.config, url))
        if cached.dialect.name == "sqlite":
            tune_sqlite(cached)
        app.extensions["crm.crosstenant_engine"] = cached
    return cached


def metrics_engine_options(config, url: str) -> dict:
    """A liveness check on checkout, and on PostgreSQL the job limits: this engine
    serves the metric refreshes (long statements) and a few small reads."""
    options: dict = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        limits = timeout_options(
            config["JOB_STATEMENT_TIMEOUT"], config["JOB_IDLE_IN_TRANSACTION_TIMEOUT"]
        )
        options["connect_args"] = {"options": limits}
    return options


def dispose(app) -> None:
    """Close the cross-tenant engine's pooled connections (app teardown, tests)."""
    cached = app.extensions.pop("crm.crosstenant_engine", None)
    if cached is not None:
        cached.dispose()


def grant_countries(programme_code: str, grant_key: str | None, own_tenant_id: int) -> list[str]:
    """Countries of the other associations that record the same grant.

    Matching is on the programme and the normalised grant number
    (``crm.models.project.normalise_grant_number``), as in the metrics.
    """
    if not grant_key:
        return []
    with engine().connect() as connection:
        rows = connection.execute(
            text(
                "SELECT DISTINCT t.country FROM projects p JOIN tenants t ON t.id = p.tenant_id "
                "WHERE p.programme_code = :programme AND p.grant_key = :key "
                "AND p.tenant_id <> :own ORDER BY t.country"
            ),
            {"programme": programme_code, "key": grant_key, "own": own_tenant_id},
        )
        return [row[0] for row in rows]
