"""Each validation rule on plain values (shared with the bulk import)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.projects import rules


def test_end_must_come_after_start():
    errors = rules.check_dates(date(2024, 6, 1), date(2024, 5, 31))
    assert errors == ["The end date (2024-05-31) must be after the start date (2024-06-01)."]
    assert rules.check_dates(date(2024, 6, 1), date(2024, 6, 1)) != []  # same day is not after
    assert rules.check_dates(date(2024, 6, 1), date(2024, 6, 2)) == []
    assert rules.check_dates(None, date(2024, 6, 2)) == []
    assert rules.check_dates(date(2024, 6, 1), None) == []


def test_budget_share_is_not_negative():
    assert rules.check_budget_share(Decimal("-0.01")) == ["A budget share cannot be negative."]
    assert rules.check_budget_share(0) == []
    assert rules.check_budget_share(None) == []


def test_budget_shares_together_not_above_total():
    assert rules.check_budget_shares(100, [50, 50]) == []
    errors = rules.check_budget_shares(Decimal("100"), [Decimal("60"), Decimal("40.01")])
    assert errors == [
        "The participants' budget shares add up to 100.01, "
        "above the project's total budget of 100.00."
    ]
    assert rules.check_budget_shares(None, [10**9]) == []  # no total: only the sign
    assert rules.check_budget_shares(100, [None, 20]) == []
    assert rules.check_budget_shares(100, [-5, 20]) == ["A budget share cannot be negative."]


def test_at_most_one_coordinator():
    assert rules.check_single_coordinator(["coordinator", "partner", "partner"]) == []
    assert rules.check_single_coordinator([]) == []
    errors = rules.check_single_coordinator(["coordinator", "partner", "coordinator"])
    assert errors == ["A project has at most one coordinator; 2 participants are coordinators."]


def test_organisation_at_most_once():
    assert rules.check_unique_organisations([1, 2, 3]) == []
    assert rules.check_unique_organisations([1, 2, 1], {1: "Acme"}) == [
        "Acme already takes part in this project (an organisation at most once)."
    ]
    assert "Organisation 7" in rules.check_unique_organisations([7, 7])[0]


@pytest.mark.parametrize("status", ["proposal", "rejected"])
def test_proposal_or_rejected_reports_no_eu_contribution(status):
    errors = rules.check_eu_contribution(status, Decimal("5000"))
    assert len(errors) == 1 and "no EU contribution" in errors[0]
    assert rules.check_eu_contribution(status, None) == []
    assert rules.check_eu_contribution(status, 0) == []


@pytest.mark.parametrize("status", ["submitted", "funded", "running", "closed"])
def test_other_statuses_may_report_eu_contribution(status):
    assert rules.check_eu_contribution(status, Decimal("5000")) == []


def test_amounts_are_not_negative():
    assert rules.check_amounts(-1, None) == ["The total budget cannot be negative."]
    assert rules.check_amounts(None, "-2") == ["The EU contribution cannot be negative."]
    assert rules.check_amounts("1000", "500") == []
    assert rules.check_amounts("", "not a number") == []  # parsing is the caller's job


def test_check_project_and_consortium_gather_every_message():
    errors = rules.check_project(
        status="rejected",
        start=date(2025, 1, 1),
        end=date(2024, 1, 1),
        total_budget=-1,
        eu_contribution=10,
    )
    assert len(errors) == 3
    errors = rules.check_consortium(
        100,
        [(1, "coordinator", 60), (1, "coordinator", 30), (2, "partner", 20)],
        {1: "Acme"},
    )
    assert len(errors) == 3
    assert rules.check_consortium(100, [(1, "coordinator", 60), (2, "partner", 40)]) == []
