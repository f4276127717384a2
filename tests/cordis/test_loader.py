"""The CORDIS loader: the sample's quirks, zip or files, all-or-nothing, idempotent,
files that are not a CORDIS export, and the command through a job run."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from crm.cordis.loader import CordisFormatError, load_export, parse_amount
from crm.models import JobRun
from crm.models.cordis import CordisLoad, cordis_participants, cordis_projects
from tests.cordis.conftest import counts, table_rows


def test_the_sample_is_read_with_its_quirks(cordis_clean, sample_dir):
    engine = cordis_clean
    seen = []
    report = load_export(engine, [sample_dir], lambda p, m: seen.append(p))
    assert (report.projects, report.participants, report.rejected) == (5, 12, 3)
    assert report.reasons == {"malformed PIC": 1, "unknown country": 1, "no project": 1}
    reasons = [r["reason"] for r in report.listed]
    assert "malformed PIC “99910006”" in reasons and "unknown country “XX”" in reasons
    assert "project 101999999 is not in the project file" in reasons
    assert seen[-1] == 100 and seen == sorted(seen)
    assert counts(engine) == (5, 12)
    with engine.connect() as connection:
        robofab = connection.execute(
            select(cordis_projects).where(cordis_projects.c.grant_key == "101070001")
        ).one()
        # A semicolon inside quotes, a decimal comma, HORIZON read as Horizon Europe.
        assert robofab.title == "Robotic fabrication; flexible cells for SMEs"
        assert robofab.ec_max_contribution == Decimal("4999875.50")
        assert robofab.programme_code == "HE" and robofab.start_date.isoformat() == "2023-01-01"
        hydrogen = connection.scalar(
            select(cordis_projects.c.title).where(cordis_projects.c.grant_key == "101080002")
        )
        assert hydrogen == 'Hydrogen valleys: regional "clean" hubs'  # doubled quotes
        greenport = connection.scalar(
            select(cordis_projects.c.programme_code).where(cordis_projects.c.grant_key == "870004")
        )
        assert greenport == "H2020"
        people = {(r.grant_key, r.pic): r for r in connection.execute(select(cordis_participants))}
    tul = people[("870004", "999100002")]
    assert tul.street == "ul. Żeromskiego 116\nBudynek A"  # a newline inside quotes
    assert tul.vat_number is None and tul.active is False and tul.role == "coordinator"
    assert people[("101070001", "999100010")].country == "GR"  # CORDIS writes EL
    assert people[("101080002", "999100012")].country == "GB"  # and UK
    acme = people[("101070001", "999100001")]
    assert acme.vat_number == "FR40303265045" and acme.sme is True
    assert acme.ec_contribution == Decimal("1250000") and acme.name_key == "acme robotique"
    assert people[("101090003", "999100004")].street == '3 allée "Verte"; bât. B'


def test_the_zip_loads_the_same_and_a_reload_changes_nothing(cordis_clean, sample_dir, sample_zip):
    engine = cordis_clean
    load_export(engine, [sample_dir])
    first = (table_rows(engine, cordis_projects), table_rows(engine, cordis_participants))
    report = load_export(engine, [sample_zip])
    assert report.source == sample_zip.name
    again = (table_rows(engine, cordis_projects), table_rows(engine, cordis_participants))
    assert again == first
    load_export(engine, [sample_dir / "project.csv", sample_dir / "organization.csv"])
    assert (table_rows(engine, cordis_projects), table_rows(engine, cordis_participants)) == first
    with engine.connect() as connection:
        assert connection.scalar(select(CordisLoad.projects).order_by(CordisLoad.id.desc())) == 5
        assert len(connection.execute(select(CordisLoad.id)).all()) == 3


def test_missing_columns_are_named_and_nothing_changes(cordis_clean, sample_dir, tmp_path):
    engine = cordis_clean
    load_export(engine, [sample_dir])
    before = table_rows(engine, cordis_participants)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "project.csv").write_bytes((sample_dir / "project.csv").read_bytes())
    (bad / "organization.csv").write_text(
        '"projectID";"name";"city"\n"101070001";"ACME";"Lyon"\n', encoding="utf-8"
    )
    with pytest.raises(CordisFormatError) as error:
        load_export(engine, [bad])
    message = str(error.value)
    assert "organization.csv is not a CORDIS export" in message
    for column in ("organisationID", "vatNumber", "country", "role", "ecContribution"):
        assert column in message
    assert "projectID" not in message.split("columns")[1]
    assert table_rows(engine, cordis_participants) == before
    (bad / "organization.csv").unlink()
    with pytest.raises(CordisFormatError, match="lacks organization.csv"):
        load_export(engine, [bad])


def test_a_file_broken_half_way_leaves_the_previous_data(cordis_clean, sample_dir, tmp_path):
    engine = cordis_clean
    load_export(engine, [sample_dir])
    before = (table_rows(engine, cordis_projects), table_rows(engine, cordis_participants))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "project.csv").write_bytes((sample_dir / "project.csv").read_bytes())
    # Thousands of good rows, then bytes that are not UTF-8: the rows before it were
    # already staged in chunks when the error comes.
    good = (sample_dir / "organization.csv").read_bytes().split(b"\n")
    header, row = good[0], good[1]
    body = b"\n".join([header] + [row.replace(b"999100001", b"%09d" % i) for i in range(12_000)])
    (broken / "organization.csv").write_bytes(body + b'\n"101070001";"\xff\xfe bad"\n')
    with pytest.raises(CordisFormatError, match="cannot be read"):
        load_export(engine, [broken])
    assert (table_rows(engine, cordis_projects), table_rows(engine, cordis_participants)) == before
    # A quoted field that never ends (a file cut short) is refused the same way.
    (broken / "organization.csv").write_bytes(header + b'\n"101070001";"ROBOFAB";"9991')
    with pytest.raises(CordisFormatError):
        load_export(engine, [broken])
    assert counts(engine) == (5, 12)


@pytest.mark.parametrize(
    ("text", "amount"),
    [("4999875,5", "4999875.5"), ("1 234,50", "1234.50"), ("1.234.567,5", "1234567.5"),
     ("1,234,567.5", "1234567.5"), ("12", "12"), ("", None), ("n/a", None), ("NaN", None)],
)  # fmt: skip
def test_amounts(text, amount):
    assert parse_amount(text) == (Decimal(amount) if amount else None)


def test_the_command_runs_as_a_cordis_job(committed_app, sample_zip, tmp_path, owner_engine):
    runner = committed_app.test_cli_runner()
    result = runner.invoke(args=["crm", "cordis", "load", str(sample_zip)])
    assert result.exit_code == 0, result.output
    assert "loaded 5 projects and 12 participants; 3 rows left out" in result.output
    assert "malformed PIC" in result.output
    with committed_app.app_context():
        from crm.extensions import db

        run = db.session.scalar(select(JobRun).where(JobRun.kind == "cordis"))
        assert (run.status, run.progress, run.tenant_id) == ("finished", 100, None)
        assert run.result["participants"] == 12
    bad = tmp_path / "project.csv"
    bad.write_text('"id";"title"\n"1";"x"\n', encoding="utf-8")
    result = runner.invoke(args=["crm", "cordis", "load", str(bad)])
    assert result.exit_code != 0 and "lacks organization.csv" in result.output
    assert counts(owner_engine) == (5, 12)


@pytest.mark.postgres
def test_the_app_role_only_reads_the_reference_data(session, cordis_clean, sample_dir):
    load_export(cordis_clean, [sample_dir])
    assert session.execute(text("SELECT count(*) FROM cordis_projects")).scalar() == 5
    with pytest.raises(Exception, match="permission denied"):
        with session.begin_nested():
            session.execute(text("DELETE FROM cordis_projects"))


def test_a_load_replaces_its_own_programme_only(cordis_clean, sample_dir, tmp_path):
    """Horizon 2020 after Horizon Europe: both stay; a newer H2020 export updates H2020."""
    engine = cordis_clean
    load_export(engine, [sample_dir])
    he_before = [r for r in table_rows(engine, cordis_projects) if r.programme_code == "HE"]
    h2020 = tmp_path / "h2020"
    h2020.mkdir()
    for name, keep in (
        ("project.csv", lambda row: row[0] == "870004"),
        ("organization.csv", lambda row: row[2] == "999100014"),
    ):
        with (sample_dir / name).open(encoding="utf-8", newline="") as source:
            rows = list(csv.reader(source, delimiter=";"))
        kept = [rows[0]] + [row for row in rows[1:] if keep(row)]
        kept = [[cell.replace("Green port logistics", "Greener ports") for cell in r] for r in kept]
        with (h2020 / name).open("w", encoding="utf-8", newline="") as target:
            csv.writer(target, delimiter=";", quoting=csv.QUOTE_ALL).writerows(kept)
    report = load_export(engine, [h2020])
    assert (report.projects, report.participants) == (1, 1)
    projects_now = table_rows(engine, cordis_projects)
    assert [r for r in projects_now if r.programme_code == "HE"] == he_before
    assert [r.title for r in projects_now if r.programme_code == "H2020"] == ["Greener ports"]
    with engine.connect() as connection:
        greenport_people = connection.execute(
            select(cordis_participants.c.pic).where(cordis_participants.c.grant_key == "870004")
        ).scalars()
        assert list(greenport_people) == ["999100014"]  # Łódź's row is gone with the old file
    assert counts(engine) == (5, 11)
