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
        # str(): a lazy label (``_l``) would pass escape() as markup.
        tags.append(f'<option value="{escape(value)}"{mark}>{escape(str(label))}</option>')
    return Markup("".join(tags))


def url_stem(endpoint: str, id_name: str) -> str:
    """The URL of ``endpoint`` without its trailing integer ``id_name``: a list writes
    ``stem ~ row.id`` for each row (one ``url_for`` per list, not per row; the id
    is the URL's last part, an ``int`` converter)."""
    from flask import url_for

    url = url_for(endpoint, **{id_name: 0})
    if not url.endswith("/0"):
        raise ValueError(f"{endpoint}: {id_name} is not the last part of its URL")
    return url[:-1]
