"""The bulk bar's form: which rows, which action, and the action's details."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from crm.forms import Form, labelled
from crm.i18n import _l
from crm.models.membership import MEMBERSHIP_STATUSES

# action -> (label, the lists it applies to)
ACTIONS = {
    "tag": (_l("Add a tag"), ("members", "contacts")),
    "untag": (_l("Remove a tag"), ("members", "contacts")),
    "status": (_l("Change membership status"), ("members",)),
    "export_csv": (_l("Export (CSV)"), ("members", "contacts")),
    "export_xlsx": (_l("Export (Excel)"), ("members", "contacts")),
}


class BulkForm(Form):
    source = HiddenField()  # members | contacts
    filters = HiddenField()  # the list's query arguments, url-encoded
    all_matching = BooleanField(_l("Select all matching"))
    # Both choices are checked by the view (crm.bulk.views._check), beside the field.
    action = SelectField(
        _l("Action"),
        choices=labelled({k: v[0] for k, v in ACTIONS.items()}, _l("Choose…")),
        validate_choice=False,
    )
    tag = StringField(_l("Tag"), validators=[Optional(), Length(max=60)])
    status = SelectField(
        _l("New status"), choices=labelled(MEMBERSHIP_STATUSES, "—"), validate_choice=False
    )
    effective_on = DateField(_l("Effective on"), default=date.today, validators=[Optional()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


def bulk_form(source: str, args: dict, total: int) -> BulkForm:
    """The bar above a list: its filters carried along, for "all N matching"."""
    form = BulkForm(formdata=None)
    form.source.data = source
    form.filters.data = urlencode(args)
    form.action.choices = labelled(
        {k: label for k, (label, sources) in ACTIONS.items() if source in sources}, _l("Choose…")
    )
    form.total = total
    return form
