"""Fixtures for the CORDIS tests: the owner's engine (the reference tables are
read-only to the app role), the sample export, and clean reference tables."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, select

from crm.dialects import tune_sqlite
from crm.models.cordis import (
    CordisLoad,
    cordis_participants,
    cordis_participants_staging,
    cordis_projects,
    cordis_projects_staging,
)

SAMPLE = Path(__file__).resolve().parents[2] / "crm" / "data" / "cordis_sample"
CORDIS_TABLES = (
    cordis_participants,
    cordis_projects,
    cordis_participants_staging,
    cordis_projects_staging,
    CordisLoad.__table__,
)


def empty_cordis(engine) -> None:
    with engine.begin() as connection:
        for table in CORDIS_TABLES:
            connection.execute(delete(table))


@pytest.fixture(scope="session")
def owner_engine(database_urls):
    engine = create_engine(database_urls["owner"])
    if engine.dialect.name == "sqlite":
        tune_sqlite(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def cordis_clean(owner_engine):
    """Empty reference tables before and after the test."""
    empty_cordis(owner_engine)
    yield owner_engine
    empty_cordis(owner_engine)


@pytest.fixture
def sample_dir(tmp_path) -> Path:
    target = tmp_path / "cordis"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture
def sample_zip(tmp_path) -> Path:
    """The sample as CORDIS publishes it: a zip holding the CSV files in a folder."""
    path = tmp_path / "cordis-HORIZONprojects-csv.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("project.csv", "organization.csv"):
            archive.write(SAMPLE / name, f"csv/{name}")
    return path


def counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(cordis_projects)),
            connection.scalar(select(func.count()).select_from(cordis_participants)),
        )


def table_rows(engine, table) -> list[tuple]:
    """The rows, without the participants' ids (a load numbers them anew)."""
    columns = [c for c in table.columns if c.name != "id"]
    with engine.connect() as connection:
        return sorted(connection.execute(select(*columns)).all(), key=repr)
