"""docs/metrics.md carries the metric definitions shown in the UI, word for word."""

from __future__ import annotations

from pathlib import Path

from crm.metrics.definitions import METRICS, markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
START = "<!-- definitions: generated from crm/metrics/definitions.py -->"
END = "<!-- end of definitions -->"


def test_the_docs_carry_the_definitions_of_the_ui():
    text = DOC.read_text(encoding="utf-8")
    section = text.split(START, 1)[1].split(END, 1)[0]
    assert section.strip() == markdown().strip(), (
        "docs/metrics.md is out of step with crm/metrics/definitions.py: paste "
        "crm.metrics.definitions.markdown() between the markers"
    )
    for metric in METRICS:
        assert str(metric.definition) in section
