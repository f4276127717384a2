import pytest

import config
from crm.models.organisation import derive_size_class
from crm.models.project import normalise_grant_number


@pytest.mark.parametrize(
    ("employees", "turnover", "balance", "expected"),
    [
        (5, 1_000_000, None, "micro"),
        (9, None, 2_000_000, "micro"),
        (9, 3_000_000, 3_000_000, "small"),  # headcount fits micro, money does not
        (5, 3_000_000, None, None),  # balance unknown could still make it micro
        (49, 10_000_000, 50_000_000, "small"),
        (100, 60_000_000, 40_000_000, "medium"),
        (100, 60_000_000, 50_000_000, "large"),
        (250, 1, 1, "large"),
        (None, 1, 1, None),
        (5, None, None, None),
    ],
)
def test_eu_sme_size_class(employees, turnover, balance, expected):
    assert derive_size_class(employees, turnover, balance) == expected


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("101070123", "101070123"),
        ("GA 101070123", "101070123"),
        ("ga no. 101 070 123", "101070123"),
        ("101-070-123", "101070123"),
        # Every prefix the docs list (docs/projects.md), alone and two at a time.
        ("GAP-103660601", "103660601"),
        ("GAP 103660601", "103660601"),
        ("gap103660601", "103660601"),
        ("GAP-101 070 123", "101070123"),
        ("GA-103660601", "103660601"),
        ("GA103660601", "103660601"),
        ("Grant 101070123", "101070123"),
        ("GRANT: 101070123", "101070123"),
        ("No. 101070123", "101070123"),
        ("Nr. 101070123", "101070123"),
        ("N° 101070123", "101070123"),
        ("GA No. 101070123", "101070123"),
        ("Grant no. 101070123", "101070123"),
        ("GAP nr 101070123", "101070123"),
        ("101-943-6220", "1019436220"),
        (" 101 943 6220 ", "1019436220"),
        ("101\u00a0070\t123", "101070123"),
        ("  ", None),
        ("GA", None),
        (None, None),
    ],
)
def test_grant_numbers_are_normalised(raw, key):
    assert normalise_grant_number(raw) == key


def test_production_refuses_a_missing_or_weak_secret_key():
    production = {"ENV": "production", "BASE_URL": "https://crm.example.org"}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.load(production, environ={})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.load(production, environ={"SECRET_KEY": "short"})
    settings = config.load(production, environ={"SECRET_KEY": "x" * 40})
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_database_url_comes_from_environment():
    settings = config.load(environ={"DATABASE_URL": "postgres://u@h/db", "CRM_ENV": "development"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
