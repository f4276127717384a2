"""Forms of the mail area: the sender address, the outbox search, action buttons."""

from wtforms import EmailField, StringField
from wtforms.validators import Email, Length, Optional

from crm.forms import Form
from crm.i18n import _l

ADDRESS_EXAMPLE = _l(
    "Enter an e-mail address such as %(example)s.", example="office@cluster.example.org"
)


class SenderForm(Form):
    mail_from = EmailField(
        _l("Sender address"),
        validators=[Optional(), Email(ADDRESS_EXAMPLE), Length(max=320)],
        description=_l(
            "Members receive the association's mail from this address. "
            "Leave it empty to use the installation's address."
        ),
    )


class OutboxSearchForm(Form):
    class Meta:
        csrf = False  # a GET search, changes nothing

    q = StringField(_l("Recipient"), validators=[Optional(), Length(max=320)])


class ActionForm(Form):
    """An empty form: CSRF for an action button (send a test message)."""
