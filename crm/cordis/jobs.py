"""The CORDIS load as a background job (kind "cordis"), with its progress on the run."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import create_engine

from crm import database
from crm.cordis.loader import CordisFormatError, load_export
from crm.dialects import tune_sqlite
from crm.jobs import run_progress


def owner_engine():
    """The reference tables are read-only to the app role: the owner writes them."""
    engine = create_engine(database.owner_url(current_app.config))
    if engine.dialect.name == "sqlite":
        tune_sqlite(engine)
    return engine


def load_job(paths: list[str], run_id: int) -> dict:
    """Load the export at ``paths`` (a zip, a folder, or the two CSV files)."""
    engine = owner_engine()
    try:
        report = load_export(
            engine, paths, lambda percent, message: run_progress(run_id, percent, message)
        )
    except CordisFormatError:
        raise  # recorded on the run as its error: the message names what is wrong
    finally:
        engine.dispose()
    return report.as_dict()
