from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from crm.accounts.services import MIN_PASSWORD_LENGTH
from crm.forms import Form, column_length, optional_id, select_choices
from crm.i18n import _l
from crm.models import Tenant, User
from crm.models.user import ROLES, TENANT_ROLES
from crm.slugs import valid_slug


class LoginForm(Form):
    email = EmailField(
        _l("E-mail"), validators=[DataRequired(), Email(), column_length(User.email)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device (14 days)"))


class ForgotPasswordForm(Form):
    email = EmailField(
        _l("E-mail"), validators=[DataRequired(), Email(), column_length(User.email)]
    )


def _new_password_fields():
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Use at least %(min)d characters (at most %(max)d)."),
            ),
        ],
        description=_l(
            "At least %(num)s characters; not your e-mail address.", num=MIN_PASSWORD_LENGTH
        ),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", _l("The two entries differ."))],
    )
    return new, confirm


class SetPasswordForm(Form):
    new_password, confirm_password = _new_password_fields()


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=200)]
    )


class UserEditForm(Form):
    class Meta:
        model = User

    name = StringField(_l("Name"), validators=[DataRequired()])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(r, ROLES[r]) for r in TENANT_ROLES],
        validators=[DataRequired()],
    )
    # Choices are the tenant's clusters (filled by the view); a cluster id of
    # another association is not among them, so it fails as a field error.
    cluster_id = SelectField(
        _l("Cluster (cluster managers only)"), coerce=optional_id, validators=[Optional()]
    )

    def set_clusters(self, clusters: list[tuple[int, str]]) -> None:
        self.cluster_id.choices = [SelectChoice(None, _l("— none —")), *select_choices(clusters)]


class UserNewForm(UserEditForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email()])


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter, changes nothing

    # Choices are what the log holds now; a bookmarked filter for something
    # not (yet) logged is still a fair question, answered with no rows.
    action = SelectField(_l("Action"), validators=[Optional()], validate_choice=False)
    entity_type = SelectField(_l("Record type"), validators=[Optional()], validate_choice=False)
    user = SelectField(_l("By user"), coerce=optional_id, validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


class TenantNewForm(Form):
    class Meta:
        model = Tenant

    slug = StringField(
        _l("Short name (in addresses)"),
        validators=[DataRequired(), valid_slug],
    )
    name = StringField(_l("Association name"), validators=[DataRequired()])
    country = StringField(
        _l("Country (ISO code)"),
        validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$", message=_l("Two letters, e.g. FR"))],
    )
    admin_name = StringField(
        _l("First administrator's name"), validators=[DataRequired(), column_length(User.name)]
    )
    admin_email = EmailField(
        _l("First administrator's e-mail"),
        validators=[DataRequired(), Email(), column_length(User.email)],
    )
