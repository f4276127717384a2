"""Merge fields: subject and body templates rendered per recipient in a sandbox.

Templates are written by association staff, so they run in Jinja's
``SandboxedEnvironment`` (no attribute of Python internals, no ``__class__``,
bounded ``range``) with ``StrictUndefined``: a misspelt field is an error the
form shows, never an empty gap in a thousand messages. Every recipient gets the
same fields (``FIELDS``); ``check`` renders a template against a sample of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from crm.i18n import _, _l

# What a template may use, as shown on the form.
FIELDS = {
    "organisation": _l("the organisation's name"),
    "contact.first_name": _l("the contact's first name"),
    "contact.last_name": _l("the contact's last name"),
    "contact.full_name": _l("first and last name"),
    "contact.email": _l("the contact's e-mail address"),
    "renewal_date": _l("the membership's paid-until date (YYYY-MM-DD), empty when none"),
    "amount_due": _l("the amount due for the renewal, empty until payments record it"),
    "association": _l("your association's name"),
}


@dataclass(frozen=True)
class Recipient:
    """The facts one message is rendered from (read in one query per batch)."""

    first_name: str
    last_name: str
    email: str
    organisation: str
    paid_until: date | None = None
    amount_due: Decimal | None = None

    def context(self, association: str) -> dict:
        # A namespace, not a dict: a dict's methods (items, keys) would be fields.
        contact = SimpleNamespace(
            first_name=self.first_name,
            last_name=self.last_name,
            full_name=f"{self.first_name} {self.last_name}".strip(),
            email=self.email,
        )
        return {
            "organisation": self.organisation,
            "contact": contact,
            "renewal_date": self.paid_until.isoformat() if self.paid_until else "",
            "amount_due": "" if self.amount_due is None else f"{self.amount_due:.2f}",
            "association": association,
        }


SAMPLE = Recipient("Ana", "Sample", "ana.sample@example.org", "Sample Firm", date(2027, 1, 31))


def _environment() -> SandboxedEnvironment:
    # Plain-text mail: no HTML escaping; keep the author's line breaks.
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


_ENV = _environment()


class MergeError(ValueError):
    """A template that cannot be rendered: the message says why, for the form."""


@lru_cache(maxsize=64)
def _compiled(template: str) -> Template:
    """A mailing renders the same two templates thousands of times: compile once."""
    return _ENV.from_string(template)


def render(template: str, context: dict) -> str:
    try:
        return _compiled(template).render(context)
    except SecurityError as error:
        raise MergeError(
            _("This template uses something not allowed: %(error)s", error=error)
        ) from error
    except UndefinedError as error:
        raise MergeError(
            _("Unknown merge field: %(error)s. Use one of the fields listed.", error=error)
        ) from error
    except TemplateSyntaxError as error:
        raise MergeError(
            _("Template error on line %(line)s: %(error)s", line=error.lineno, error=error.message)
        ) from error
    except (TemplateError, TypeError, ValueError, ArithmeticError) as error:
        raise MergeError(_("This template cannot be rendered: %(error)s", error=error)) from error


def check(template: str, association: str = "Your association") -> str | None:
    """Why ``template`` cannot be rendered (for a field error), or None."""
    try:
        render(template, SAMPLE.context(association))
    except MergeError as error:
        return str(error)
    return None
