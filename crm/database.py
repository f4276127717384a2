"""Schema and role administration: migrations and the database roles.

On PostgreSQL three roles are in play:
* the owner (``MIGRATION_DATABASE_URL``) runs migrations and owns the tables;
* the app role (``DATABASE_URL``): LOGIN NOSUPERUSER NOBYPASSRLS, DML on the
  tenant tables, ``users`` and ``partner_profiles`` (all under row-level
  security; the published profiles are readable across associations, writable
  by their own only: migration 0012), SELECT only on
  ``tenants`` and the reference lists, EXECUTE on the narrow definer functions
  of migration 0008 (sign-in lookups, association creation);
* the metrics role (``METRICS_DATABASE_URL``): BYPASSRLS, SELECT on the
  columns the metrics read (``METRICS_COLUMNS``; no ``users``, no names or
  contact details) and write access to the metric snapshots only. It is the one
  narrow path that reads across tenants, used only by ``crm.metrics``.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Column, create_engine, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# Tables the metrics role may write (its snapshots and their job records).
METRICS_WRITABLE = ("job_runs",)

# Tables the app role may only read: the associations (created through the
# ``create_tenant`` definer function) and the reference lists (migrations).
APP_READ_ONLY = (
    "tenants", "programmes", "ecosystems", "flagship_areas", "alembic_version",
    # The CORDIS reference data, written by its loader as the owner (crm.cordis.loader).
    "cordis_projects", "cordis_participants", "cordis_projects_staging",
    "cordis_participants_staging", "cordis_loads",
)  # fmt: skip

# The definer functions of migration 0008, the app role's only way past the wall.
APP_FUNCTIONS = (
    "auth_user_by_email(text)",
    "auth_user_by_id(integer)",
    "tenant_user_counts()",
    "create_tenant(text, text, text)",
    # Migration 0025: an association's own sender address.
    "set_tenant_mail_from(text)",
    # Migration 0031: the directory search's ids, through the trigram indexes.
    "organisation_search_ids(text, text, text)",
)

# Every column the metrics read (crm/metrics/sql.py, crm/metrics/snapshots.py and
# crosstenant.grant_countries), and nothing more: no names, e-mails, phones or
# hashes leave through the role that bypasses row-level security.
METRICS_COLUMNS = {
    "tenants": ("id", "name", "country"),
    "organisations": (
        "id", "tenant_id", "kind", "size_class", "country", "nuts2", "employees", "archived",
        "is_external", "updated_at",
        # Matched to CORDIS's participants for the coverage figures (public identifiers).
        "pic", "vat_id",
    ),
    "association_memberships": (
        "id", "tenant_id", "organisation_id", "status", "joined_on", "left_on", "paid_until",
        "updated_at",
    ),
    "cluster_memberships": ("tenant_id", "cluster_id", "member_id", "until"),
    "organisation_ecosystems": ("tenant_id", "organisation_id", "ecosystem_id"),
    "projects": (
        "id", "tenant_id", "programme_code", "status", "start_date", "grant_key",
        "total_budget", "eu_contribution", "updated_at",
    ),
    "participations": ("id", "tenant_id", "project_id", "organisation_id"),
    "project_ecosystems": ("tenant_id", "project_id", "ecosystem_id"),
    "ecosystems": ("id", "code"),
    "partner_requests": (
        "id", "tenant_id", "programme_code", "ecosystem_codes", "deadline", "closed_at",
    ),
    "partner_interests": (
        "id", "tenant_id", "request_tenant_id", "status", "created_at", "decided_at",
    ),
    # CORDIS coverage (crm.metrics.sql._cordis_facts): public reference data, and which
    # participations an association dismissed (no reason, no user).
    "cordis_participants": ("grant_key", "pic", "vat_number", "sme"),
    "cordis_dismissals": ("tenant_id", "organisation_id", "grant_key"),
}  # fmt: skip


def normalise_url(url: str) -> str:
    from config import normalise_database_url

    return normalise_database_url(url)


def owner_url(config) -> str:
    """The owner's URL (migrations, grants, ANALYZE): MIGRATION_DATABASE_URL, else the app's."""
    return config["MIGRATION_DATABASE_URL"] or config["SQLALCHEMY_DATABASE_URI"]


POSTGRESQL_ONLY_INDEXES = {"ix_organisations_name_knn", "ix_organisations_search_trgm"}


def include_in_autogenerate(obj, name, type_, reflected, compare_to) -> bool:
    """Leave alone the expression indexes that live in migrations only.

    The directory's sort and trigram indexes (migration 0004) differ between
    PostgreSQL and SQLite, so the models do not declare them; PostgreSQL
    reflects them all the same, and autogenerate must not propose dropping them.
    The trigram index on the folded name (migration 0029) is PostgreSQL's only, and so
    are the name sort's per-collation indexes (migration 0030).
    """
    if type_ == "index" and reflected and compare_to is None:
        if name in POSTGRESQL_ONLY_INDEXES or (name or "").startswith("ix_organisations_dir_name_"):
            return False
        return all(isinstance(e, Column) for e in obj.expressions)
    return True


def alembic_config(url: str) -> Config:
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Percent signs in passwords would otherwise be read as interpolation.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def role_statements(app_role: str, metrics_role: str | None, create: bool) -> list[str]:
    """The SQL that creates (optionally) and grants the app and metrics roles."""
    stmts = []
    if create:
        stmts.append(_create_role(app_role, "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
        if metrics_role:
            stmts.append(
                _create_role(metrics_role, "NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE")
            )
    stmts += [
        f'GRANT USAGE ON SCHEMA public TO "{app_role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{app_role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app_role}"',
    ]
    for table in APP_READ_ONLY:
        stmts += [
            f'REVOKE ALL ON "{table}" FROM "{app_role}"',
            f'GRANT SELECT ON "{table}" TO "{app_role}"',
        ]
    stmts += [f'GRANT EXECUTE ON FUNCTION public.{f} TO "{app_role}"' for f in APP_FUNCTIONS]
    if metrics_role:
        stmts += [
            f'GRANT USAGE ON SCHEMA public TO "{metrics_role}"',
            # A re-run starts from nothing, so a column dropped from the list loses its grant.
            f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{metrics_role}"',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{metrics_role}"',
        ]
        for table, columns in METRICS_COLUMNS.items():
            names = ", ".join(f'"{c}"' for c in columns)
            stmts.append(f'GRANT SELECT ({names}) ON "{table}" TO "{metrics_role}"')
        for table in metrics_writable_tables():
            stmts.append(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO "{metrics_role}"')
    return stmts


def metrics_writable_tables() -> list[str]:
    from crm.models import Base

    return [t for t in Base.metadata.tables if t.startswith("metric_") or t in METRICS_WRITABLE]


def _create_role(name: str, options: str) -> str:
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') "
        f'THEN CREATE ROLE "{name}" LOGIN {options}; '
        f'ELSE ALTER ROLE "{name}" LOGIN {options}; END IF; END $$'
    )


def grant_roles(owner_url: str, app_role: str, metrics_role: str | None, create: bool) -> None:
    """Raise ValueError when a role named is the owner's own: ``--create`` would take
    its superuser right away, and the app would then run past row-level security."""
    engine = create_engine(owner_url)
    try:
        with engine.begin() as connection:
            owner = connection.scalar(text("SELECT current_user"))
            if owner in (app_role, metrics_role):
                raise ValueError(
                    f'"{owner}" owns the schema: the app and metrics roles must be other '
                    "roles (name them in DATABASE_URL and METRICS_DATABASE_URL, and the "
                    "owner in MIGRATION_DATABASE_URL)."
                )
            for stmt in role_statements(app_role, metrics_role, create):
                connection.execute(text(stmt))
    finally:
        engine.dispose()


def analyze(owner_url: str) -> None:
    """Refresh the planner's statistics after a bulk load (the owner's right on PostgreSQL).

    Without them the planner takes freshly loaded tables for empty ones, and the
    first metric refresh picks nested loops over hundreds of thousands of rows.
    """
    engine = create_engine(owner_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def role_of(url: str) -> str | None:
    return make_url(url).username
