"""How the app reads a request's address: integer URL parts within the
database's integer range, no query parameter holding a control character."""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Request as FlaskRequest
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from crm.validation import MAX_ID, has_control


class IdConverter(IntegerConverter):
    """``<int:...>`` up to 2**31-1: a larger id cannot exist, and PostgreSQL
    would refuse to compare an integer column with it (a 500); here it is a 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class Request(FlaskRequest):
    @cached_property
    def args(self):
        """The query string without the parameters whose name or value holds a
        control character: they are taken as absent. A list filter with a NUL
        would otherwise reach PostgreSQL (which refuses NUL in text), and a
        repaired value could mean something else ("/%09/host" is "//host")."""
        pairs = parse_qsl(
            self.query_string.decode(), keep_blank_values=True, errors="werkzeug.url_quote"
        )
        return self.parameter_storage_class(
            (key, value) for key, value in pairs if not has_control(key + value)
        )


def install(app) -> None:
    """Before any blueprint is registered: rules bind their converters then."""
    app.request_class = Request
    app.url_map.converters["int"] = IdConverter
