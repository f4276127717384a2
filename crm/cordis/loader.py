"""Loading the CORDIS bulk export (``project.csv`` and ``organization.csv``, or the zip
holding them) into the reference tables: staged, then swapped in one transaction.

The files are semicolon-separated, double-quoted, UTF-8 (with or without a byte
order mark), with newlines inside quoted fields. Rows CORDIS itself got wrong (a
PIC that is not 9 digits, an unknown country, a participant of a project the
project file lacks) are left out, counted and listed; anything else wrong with
the files (not a CORDIS export, a column missing, unreadable) stops the load
before the live tables are touched. The live data is replaced only by a
complete load, and loading the same export again gives the same tables; a load
replaces the rows of its own framework programme(s) only.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, delete, insert, or_, select

from crm.countries import countries
from crm.i18n import _
from crm.models.cordis import (
    CordisLoad,
    cordis_participants,
    cordis_participants_staging,
    cordis_projects,
    cordis_projects_staging,
)
from crm.models.project import normalise_grant_number
from crm.projects.partners import name_key

# Columns a load needs (CSV header -> our column); the others are read when present.
PROJECT_COLUMNS = {
    "id": "grant_key",
    "acronym": "acronym",
    "status": "status",
    "title": "title",
    "startDate": "start_date",
    "endDate": "end_date",
    "totalCost": "total_cost",
    "ecMaxContribution": "ec_max_contribution",
    "frameworkProgramme": "framework_programme",
}
PROJECT_OPTIONAL = {
    "legalBasis": "legal_basis",
    "topics": "topics",
    "masterCall": "master_call",
    "subCall": "sub_call",
    "fundingScheme": "funding_scheme",
    "ecSignatureDate": "ec_signature_date",
}
ORGANISATION_COLUMNS = {
    "projectID": "grant_key",
    "organisationID": "pic",
    "vatNumber": "vat_number",
    "name": "name",
    "country": "country",
    "role": "role",
    "ecContribution": "ec_contribution",
}
ORGANISATION_OPTIONAL = {
    "shortName": "short_name",
    "SME": "sme",
    "activityType": "activity_type",
    "street": "street",
    "postCode": "post_code",
    "city": "city",
    "nutsCode": "nuts_code",
    "netEcContribution": "net_ec_contribution",
    "totalCost": "total_cost",
    "endOfParticipation": "end_of_participation",
    "active": "active",
}
FILES = {"project": "project.csv", "organization": "organization.csv"}
# CORDIS's framework programme -> our programme code (``programmes.code``).
PROGRAMMES = {"HORIZON": "HE", "HE": "HE", "H2020": "H2020"}
# CORDIS writes Greece and the United Kingdom as the EU does, not as ISO 3166.
COUNTRY_ALIASES = {"EL": "GR", "UK": "GB"}
DATES = ("start_date", "end_date", "ec_signature_date")
AMOUNTS = ("total_cost", "ec_max_contribution", "ec_contribution", "net_ec_contribution")
BOOLEANS = ("sme", "end_of_participation", "active")
# Lengths of the bounded text columns: longer values are cut, not refused.
LENGTHS = {
    "acronym": 60, "status": 20, "framework_programme": 20, "legal_basis": 80,
    "master_call": 120, "sub_call": 120, "funding_scheme": 80, "short_name": 120,
    "activity_type": 10, "post_code": 30, "city": 120, "nuts_code": 5, "role": 30,
    "vat_number": 30,
}  # fmt: skip
CHUNK = 5000
MAX_LISTED = 500  # rejected rows listed in the report (all are counted)
_PIC = re.compile(r"^\d{9}$")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")

Progress = Callable[[int, str], None]


class CordisFormatError(ValueError):
    """The files are not a CORDIS export this loader can read; nothing was changed."""


@dataclass
class LoadReport:
    source: str
    projects: int = 0
    participants: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    listed: list[dict] = field(default_factory=list)

    def reject(self, file: str, line: int, reason: str, kind: str) -> None:
        self.rejected += 1
        self.reasons[kind] += 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append({"file": file, "line": line, "reason": reason})

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "projects": self.projects,
            "participants": self.participants,
            "rejected": self.rejected,
            "reasons": dict(self.reasons),
            "rejected_rows": self.listed,
        }


# -- opening the files ---------------------------------------------------------


@dataclass
class Source:
    name: str
    size: int
    open: Callable[[], IO[bytes]]


def find_sources(paths: list[str | Path], stack: ExitStack) -> dict[str, Source]:
    """``project`` and ``organization`` from a zip, a folder, or the two CSV files."""
    found: dict[str, Source] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for kind, filename in FILES.items():
                candidate = path / filename
                if candidate.is_file():
                    found[kind] = _file_source(candidate)
        elif zipfile.is_zipfile(path):
            archive = stack.enter_context(zipfile.ZipFile(path))
            for info in archive.infolist():
                base = info.filename.rsplit("/", 1)[-1].lower()
                for kind, filename in FILES.items():
                    if base == filename:
                        found[kind] = Source(
                            f"{path.name}:{info.filename}",
                            info.file_size,
                            lambda i=info, a=archive: a.open(i),
                        )
        elif path.is_file():
            kind = _kind_of(path)
            if kind is None:
                raise CordisFormatError(
                    _(
                        "%(name)s: not a CORDIS file (expected project.csv or organization.csv).",
                        name=path.name,
                    )
                )
            found[kind] = _file_source(path)
        else:
            raise CordisFormatError(_("%(path)s: no such file or folder.", path=raw))
    missing = [FILES[k] for k in FILES if k not in found]
    if missing:
        raise CordisFormatError(_("The CORDIS export lacks %(files)s.", files=", ".join(missing)))
    return found


def _file_source(path: Path) -> Source:
    return Source(path.name, path.stat().st_size, lambda: path.open("rb"))


def _kind_of(path: Path) -> str | None:
    name = path.name.lower()
    if "organi" in name:
        return "organization"
    if "project" in name:
        return "project"
    return None


def _rows(source: Source, binary: IO[bytes], required: dict, optional: dict) -> Iterator:
    """(line, {our column: text}) for each row; the header is checked first."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    try:
        yield from _read(source, text, required, optional)
    finally:
        text.detach()  # the caller closes the file


def _read(source: Source, text, required: dict, optional: dict) -> Iterator:
    reader = csv.reader(text, delimiter=";", quotechar='"', doublequote=True, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CordisFormatError(_("%(name)s is empty.", name=source.name)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CordisFormatError(
            _("%(name)s cannot be read as CORDIS CSV: %(error)s", name=source.name, error=exc)
        ) from None
    missing = [name for name in required if name not in header]
    if missing:
        raise CordisFormatError(
            _(
                "%(name)s is not a CORDIS export: the columns %(columns)s are missing.",
                name=source.name,
                columns=", ".join(missing),
            )
        )
    wanted = {**required, **optional}
    positions = [(header.index(name), column) for name, column in wanted.items() if name in header]
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            values = {c: (row[i].strip() if i < len(row) else "") for i, c in positions}
            # The line the row ends on (a quoted field may span several).
            yield reader.line_num, values
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CordisFormatError(
            _(
                "%(name)s, near line %(line)s: cannot be read (%(error)s).",
                name=source.name,
                line=reader.line_num,
                error=exc,
            )
        ) from None


# -- cleaning the values ----------------------------------------------------------


def parse_amount(text: str) -> Decimal | None:
    """'1234567,5', '1234567.50', '1 234 567,5' -> Decimal; blank or junk -> None."""
    text = re.sub(r"[\s\u00a0']", "", text or "")
    if not text:
        return None
    if "," in text and "." in text:
        text = (
            text.replace(".", "").replace(",", ".")
            if text.rfind(",") > text.rfind(".")
            else (text.replace(",", ""))
        )
    else:
        text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and abs(amount) < Decimal("1e14") else None


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def parse_bool(text: str) -> bool | None:
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
        (text or "").strip().lower()
    )


def _clean(values: dict) -> dict:
    out = {}
    for column, text in values.items():
        if column in DATES:
            out[column] = parse_date(text)
        elif column in AMOUNTS:
            out[column] = parse_amount(text)
        elif column in BOOLEANS:
            out[column] = parse_bool(text)
        else:
            out[column] = (text[: LENGTHS[column]] if column in LENGTHS else text) or None
    return out


def normalise_vat(text: str | None) -> str | None:
    """CORDIS's VAT number as matched: letters and digits, upper case."""
    value = _NOT_ALNUM.sub("", text or "").upper()
    return value or None


def country_code(text: str | None) -> str | None:
    """The ISO code of CORDIS's country, or None when it is not a known one."""
    code = (text or "").strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    return code if code in countries() else None


# -- the load -------------------------------------------------------------------------


def load_export(
    engine: Engine, paths: list[str | Path], progress: Progress | None = None
) -> LoadReport:
    """Read the export into the staging tables, then swap it into the live tables.

    ``engine`` must be allowed to write the CORDIS tables (the owner's). Raises
    CordisFormatError (nothing changed) for files that are not a CORDIS export.
    """
    progress = progress or (lambda percent, message: None)
    with ExitStack() as stack:
        sources = find_sources(paths, stack)
        report = LoadReport(source=", ".join(str(Path(p).name) for p in paths)[:300])
        total = max(1, sum(s.size for s in sources.values()))
        with engine.begin() as connection:
            connection.execute(delete(cordis_participants_staging))
            connection.execute(delete(cordis_projects_staging))
            grants = _stage_projects(connection, sources["project"], report, progress, total)
            _stage_participants(
                connection, sources["organization"], grants, report, progress, total
            )
        progress(95, "swapping the new data in")
        _swap(engine, report)
    progress(100, f"{report.projects:,} projects, {report.participants:,} participants")
    return report


def check_export(paths: list[str | Path]) -> None:
    """Raise CordisFormatError when ``paths`` is not a CORDIS export (a file or a column
    missing), reading the two headers only: the upload page says so at once."""
    with ExitStack() as stack:
        sources = find_sources(paths, stack)
        for kind, required, optional in (
            ("project", PROJECT_COLUMNS, PROJECT_OPTIONAL),
            ("organization", ORGANISATION_COLUMNS, ORGANISATION_OPTIONAL),
        ):
            source = sources[kind]
            with source.open() as binary:
                rows = _rows(source, binary, required, optional)
                try:
                    next(rows, None)
                finally:
                    rows.close()


def _reporting(binary: IO[bytes], done: int, total: int, progress: Progress, what: str):
    def tick() -> None:
        try:
            position = binary.tell()
        except (OSError, ValueError):
            return
        progress(min(94, int(90 * (done + position) / total)), what)

    return tick


def _flush(connection, table, rows: list[dict]) -> None:
    if rows:
        connection.execute(insert(table), rows)
        rows.clear()


def _stage_projects(connection, source: Source, report, progress, total) -> set[str]:
    grants: set[str] = set()
    batch: list[dict] = []
    with source.open() as binary:
        tick = _reporting(binary, 0, total, progress, "reading the projects")
        for line, values in _rows(source, binary, PROJECT_COLUMNS, PROJECT_OPTIONAL):
            row = _clean(values)
            key = normalise_grant_number(values["grant_key"])
            if not key or len(key) > 40:
                report.reject(source.name, line, "no project id", "no project id")
                continue
            if key in grants:
                report.reject(source.name, line, f"project {key} appears twice", "duplicate")
                continue
            grants.add(key)
            framework = (row["framework_programme"] or "").upper()
            row.update(grant_key=key, programme_code=PROGRAMMES.get(framework, framework[:20]))
            batch.append(row)
            if len(batch) >= CHUNK:
                _flush(connection, cordis_projects_staging, batch)
                tick()
        _flush(connection, cordis_projects_staging, batch)
    report.projects = len(grants)
    return grants


def _stage_participants(connection, source: Source, grants, report, progress, total) -> None:
    batch: list[dict] = []
    count = 0
    with source.open() as binary:
        done = total - source.size
        tick = _reporting(binary, done, total, progress, "reading the participants")
        for line, values in _rows(source, binary, ORGANISATION_COLUMNS, ORGANISATION_OPTIONAL):
            row = _clean(values)
            key = normalise_grant_number(values["grant_key"])
            pic = re.sub(r"\s+", "", values["pic"])
            country = country_code(values["country"])
            if not _PIC.match(pic):
                report.reject(source.name, line, f"malformed PIC “{pic[:20]}”", "malformed PIC")
                continue
            if country is None:
                shown = values["country"][:10] or "(blank)"
                report.reject(source.name, line, f"unknown country “{shown}”", "unknown country")
                continue
            if key not in grants:
                report.reject(
                    source.name, line, f"project {key} is not in the project file", "no project"
                )
                continue
            count += 1
            row.update(
                id=count,
                grant_key=key,
                pic=pic,
                country=country,
                vat_number=normalise_vat(values["vat_number"]),
                name=values["name"] or "(no name)",
                name_key=name_key(values["name"]) or None,
            )
            batch.append(row)
            if len(batch) >= CHUNK:
                _flush(connection, cordis_participants_staging, batch)
                tick()
        _flush(connection, cordis_participants_staging, batch)
    report.participants = count


def _swap(engine: Engine, report: LoadReport) -> None:
    """Replace the live rows of the loaded programmes with the staged ones, and record
    the load: one transaction. Another programme's rows stay (Horizon Europe and
    Horizon 2020 come as two exports, loaded one after the other)."""
    live_p, live_o = cordis_projects, cordis_participants
    staged_p, staged_o = cordis_projects_staging, cordis_participants_staging
    with engine.begin() as connection:
        programmes = select(staged_p.c.programme_code).distinct()
        replaced = select(live_p.c.grant_key).where(
            or_(live_p.c.programme_code.in_(programmes), live_p.c.grant_key.in_(
                select(staged_p.c.grant_key)
            ))
        )  # fmt: skip
        connection.execute(delete(live_o).where(live_o.c.grant_key.in_(replaced)))
        connection.execute(delete(live_p).where(live_p.c.grant_key.in_(replaced)))
        # Participants take new ids: the staged ones restart at 1 with each load.
        for live, staging, skip in ((live_p, staged_p, ()), (live_o, staged_o, ("id",))):
            names = [c.name for c in live.columns if c.name not in skip]
            connection.execute(
                insert(live).from_select(names, select(*[staging.c[n] for n in names]))
            )
            connection.execute(delete(staging))
        connection.execute(
            insert(CordisLoad.__table__).values(
                source=report.source,
                projects=report.projects,
                participants=report.participants,
                rejected=report.rejected,
                report={"reasons": dict(report.reasons), "rejected_rows": report.listed},
            )
        )
