"""What differs between PostgreSQL and SQLite, in one place: the engines' connection
settings (PostgreSQL's timeouts, SQLite's pragmas), lower case for every alphabet, and
pg_trgm's similarity on SQLite."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Engine, String, event, false
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from crm.collation import sort_key
from crm.duplicates.names import similarity
from crm.folding import fold


def engine_options(config) -> dict:
    """The app engine's options: a liveness check on each checkout (``pool_pre_ping``:
    a connection that PostgreSQL dropped is replaced, not handed to a request),
    and on PostgreSQL the statement and idle-in-transaction limits, sent with the
    connection itself (no round-trip per request). The rq worker's app
    (``JOB_PROCESS``) takes the longer job limits."""
    options = {"pool_pre_ping": True, **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        prefix = "JOB_" if config.get("JOB_PROCESS") else ""
        limits = timeout_options(
            config[f"{prefix}STATEMENT_TIMEOUT"], config[f"{prefix}IDLE_IN_TRANSACTION_TIMEOUT"]
        )
        connect_args = options.setdefault("connect_args", {})
        connect_args["options"] = f"{connect_args.get('options', '')} {limits}".strip()
    return options


def timeout_options(statement: float, idle: float) -> str:
    """libpq ``options`` for the two limits (seconds in, milliseconds out; 0: none)."""
    return (
        f"-c statement_timeout={round(statement * 1000)} "
        f"-c idle_in_transaction_session_timeout={round(idle * 1000)}"
    )


def tune_sqlite(engine) -> None:
    """Enforce foreign keys, let SQLAlchemy own BEGIN so savepoints work, and
    give SQLite a ``lower`` for every alphabet (``unicode_lower``), the search's
    folding (``crm_fold``, which the generated search columns read) and pg_trgm's
    ``similarity``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")


@event.listens_for(Engine, "connect")
def sqlite_functions(dbapi_connection, _record) -> None:
    """The functions the schema and the queries call, on every SQLite connection of
    the process whichever engine opens it (the app's, the metrics', the owner's of
    jobs and migrations): the generated search columns call ``crm_fold``."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.create_function("unicode_lower", 1, _lower, deterministic=True)
    dbapi_connection.create_function("crm_fold", 1, _fold, deterministic=True)
    # pg_trgm's similarity, so duplicate detection runs the same SQL (crm.duplicates).
    dbapi_connection.create_function("similarity", 2, similarity, deterministic=True)
    # The languages' alphabetical order (crm.collation; ICU collations on PostgreSQL).
    dbapi_connection.create_function("sort_key", 2, sort_key, deterministic=True)


def _fold(value):
    return fold(value) if isinstance(value, str) else value


def _lower(value):
    return value.lower() if isinstance(value, str) else value


class lowered(GenericFunction):  # lower case: a SQL function, used like func.lower
    """``lower(text)`` for searches: PostgreSQL's (which folds any alphabet in a
    UTF-8 database, and matches the expression indexes of migration 0004);
    on SQLite, whose own ``lower`` folds A-Z only ("Łódź" stayed "Łódź"), the
    Python one registered by ``tune_sqlite``."""

    type = String()
    inherit_cache = True


@compiles(lowered)
def _lowered(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(lowered, "sqlite")
def _lowered_sqlite(element, compiler, **kw):
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


def matches(column, text: str, *, anywhere: bool = True):
    """``column`` holds ``text`` (anywhere, or at its start), case aside; ``%``,
    ``_`` and ``\\`` in ``text`` are taken literally. Names and cities are searched
    accent-free through ``folded_matches``; this serves e-mails and identifiers."""
    return lowered(column).like(like_pattern(text.lower(), anywhere=anywhere), escape="\\")


def folded_matches(column, text: str, *, anywhere: bool = True):
    """``column``, a folded search column (``crm_fold``: migration 0029), holds
    ``text`` folded alike (anywhere, or at its start): case and accents aside.
    A search that folds to nothing (punctuation alone) matches nothing."""
    folded = fold(text)
    if not folded:
        return false()
    return column.like(like_pattern(folded, anywhere=anywhere), escape="\\")


def like_pattern(text: str, *, anywhere: bool = True) -> str:
    """A LIKE pattern (escape ``\\``) for ``text`` taken literally, anywhere or at the start."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if anywhere else f"{escaped}%"
