"""What every form view shares: one commit when the change is saved; when a
rule refuses it, nothing kept and each message beside its field; 422 while a
form shows errors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from flask import flash, render_template
from wtforms.fields.choices import SelectChoice

from crm.extensions import db
from crm.validation import RuleError


class Saved:
    """True once the ``saving`` block's change is committed."""

    ok = False

    def __bool__(self) -> bool:
        return self.ok


@contextmanager
def saving(form=None, rename: dict[str, str] | None = None) -> Iterator[Saved]:
    """Commit what the block changed. If a service raises ``RuleError``, roll
    the whole change back and show the messages on ``form`` (``rename`` maps a
    service's field name to the form's); the view then renders the form again.

        with saving(form) as saved:
            org = services.create_organisation(...)
        if saved:
            return redirect(...)
    """
    saved = Saved()
    try:
        yield saved
    except RuleError as error:
        db.session.rollback()
        show_errors(form, error, rename or {})
    else:
        db.session.commit()
        saved.ok = True


def show_errors(form, error: RuleError, rename: dict[str, str]) -> None:
    """Each message beside its field; those for no field of the form are flashed."""
    for name, messages in error.errors.items():
        name = rename.get(name, name)
        field = form[name] if form is not None and name and name in form else None
        if field is None:
            flash(" ".join(messages), "error")
        else:
            field.errors = [*field.errors, *messages]


def render_form(template: str, form, **context):
    return render_template(template, form=form, **context), (422 if form.errors else 200)


# -- choice helpers shared by the areas' forms ----------------------------------

MAX_ID = 2**31 - 1  # integer ids: a larger one cannot exist (and overflows the driver)


def select_choices(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """``(value, label)`` pairs (``crm.choices``) as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def labelled(labels: dict, blank: str | None = None) -> list[SelectChoice]:
    """A ``{value: label}`` dict as choices, after an empty one labelled ``blank``."""
    head = [SelectChoice("", blank)] if blank is not None else []
    return [*head, *select_choices(labels.items())]


def optional_id(value) -> int | None:
    """Coerce a submitted id: empty means none; anything not a possible id is refused."""
    if value in (None, "", "None"):
        return None
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError("not an id")
    return number
