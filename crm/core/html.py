"""HTML built in Python where a template loop would cost more than the page's query:
the options of a select (a directory filter lists every cluster of the association)."""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape


def options(pairs: Iterable, selected=None) -> Markup:
    """``<option>`` tags for (value, label) pairs (a dict: its items), the one whose
    value equals ``selected`` selected. Values and labels are escaped."""
    if hasattr(pairs, "items"):
        pairs = pairs.items()
    tags = []
    for value, label in pairs:
        mark = " selected" if value == selected else ""
        tags.append(f'<option value="{escape(value)}"{mark}>{escape(label)}</option>')
    return Markup("".join(tags))
