"""The merge form: the other organisation, and a choice per differing field."""

from __future__ import annotations

from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from crm.forms import Form, optional_id
from crm.i18n import _l
from crm.merge.services import OTHER, SURVIVOR


class MergeForm(Form):
    """CSRF, and the choices; the other organisation's id travels as ``other_id``
    (a query argument on the way in, a hidden input of the page on the way out)."""

    def chosen(self) -> dict[str, str]:
        return {
            name.removeprefix("choose_"): field.data
            for name, field in self._fields.items()
            if name.startswith("choose_")
        }


def merge_form(fields: list[str], labels: dict[str, str]) -> MergeForm:
    """A ``MergeForm`` with one radio (keep this one's value / take the other's) per field."""

    class Chosen(MergeForm):
        pass

    for name in fields:
        setattr(
            Chosen,
            f"choose_{name}",
            RadioField(
                labels.get(name, name),
                choices=[
                    SelectChoice(SURVIVOR, _l("this organisation's")),
                    SelectChoice(OTHER, _l("the other's")),
                ],
                default=SURVIVOR,
            ),
        )
    return Chosen()


def other_id(value) -> int | None:
    """The other organisation's id from the query or the form; None when not an id."""
    try:
        return optional_id(value)
    except ValueError:
        return None
