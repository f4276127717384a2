"""Forms of the members area. Field rules come from ``crm.validation``, shared with imports."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm import choices
from crm.choices import CONSENT_SOURCES, FEE_TIERS, KINDS, MEMBERSHIP_STATUSES
from crm.conflicts import version_field
from crm.extensions import db
from crm.forms import Form, labelled, select_choices
from crm.identifiers import normalise_lei, normalise_pic, normalise_ror
from crm.members.services import ORGANISATION_FIELDS
from crm.models import ClusterMembership, Contact, Organisation
from crm.models.contact import CONTACT_FIELDS
from crm.models.organisation import (
    DEFAULT_NACE_REVISION,
    DEFAULT_NUTS_REVISION,
    NACE_REVISIONS,
    NUTS_REVISIONS,
)
from crm.validation import (
    Rule,
    check_country,
    check_email,
    check_lei,
    check_nace,
    check_non_negative,
    check_nuts2,
    check_pic,
    check_registration_id,
    check_ror,
    check_url,
    check_vat_id,
    check_year,
)


class OrganisationForm(Form):
    class Meta:
        model = Organisation

    kind = SelectField(
        "Kind",
        choices=labelled(KINDS, "Choose…"),
        validators=[DataRequired("Choose the kind.")],
    )
    name = StringField(
        "Name", validators=[DataRequired("Enter the organisation's name."), Length(max=200)]
    )
    legal_name = StringField("Legal name", validators=[Optional(), Length(max=250)])
    country = StringField(
        "Country code",
        validators=[DataRequired("Enter the country code."), Rule(check_country)],
        description="Two letters, such as FR, PL or CZ.",
    )
    nuts2 = StringField(
        "NUTS-2 region",
        validators=[Optional(), Rule(check_nuts2, "country")],
        description="Country letters and two characters, such as FR10 (Greece: EL).",
    )
    nuts_revision = SelectField(
        "NUTS revision",
        choices=labelled(NUTS_REVISIONS),
        default=DEFAULT_NUTS_REVISION,
        validators=[DataRequired("Choose the NUTS revision.")],
    )
    city = StringField("City", validators=[Optional(), Length(max=120)])
    registration_id = StringField(
        "Registration number",
        validators=[Optional(), Length(max=40), Rule(check_registration_id, "country")],
        description="The national company or organisation number (SIREN, REGON, CIF…).",
    )
    vat_id = StringField(
        "VAT number",
        validators=[Optional(), Length(max=20), Rule(check_vat_id, "country")],
        description="With the country prefix, such as FR40303265045.",
    )
    pic = StringField(
        "PIC",
        filters=[normalise_pic],  # before the column's length is checked
        validators=[Optional(), Rule(check_pic)],
        description="The EU Participant Identification Code: 9 digits.",
    )
    lei = StringField(
        "LEI",
        filters=[normalise_lei],
        validators=[Optional(), Rule(check_lei)],
        description="Legal Entity Identifier (ISO 17442): 20 characters.",
    )
    ror = StringField(
        "ROR id",
        filters=[normalise_ror],  # the link https://ror.org/… is pasted as often as the id
        validators=[Optional(), Rule(check_ror, "kind")],
        description="Universities and research organisations, such as 03vek6s52.",
    )
    website = StringField("Website", validators=[Optional(), Rule(check_url)])
    nace = StringField(
        "NACE code",
        validators=[Optional(), Rule(check_nace, "nace_revision")],
        description="Section (C), division (26), group (26.1) or class (26.11).",
    )
    nace_revision = SelectField(
        "NACE revision",
        choices=labelled(NACE_REVISIONS),
        default=DEFAULT_NACE_REVISION,
        validators=[DataRequired("Choose the NACE revision.")],
    )
    employees = StringField(
        "Employees (headcount)",
        validators=[Optional(), Rule(check_non_negative, integer=True, maximum=10_000_000)],
    )
    turnover_eur = StringField(
        "Annual turnover (EUR)", validators=[Optional(), Rule(check_non_negative, maximum=9e15)]
    )
    balance_sheet_eur = StringField(
        "Balance-sheet total (EUR)",
        validators=[Optional(), Rule(check_non_negative, maximum=9e15)],
    )
    founded_year = StringField("Founded (year)", validators=[Optional(), Rule(check_year)])
    is_startup = BooleanField("Start-up")
    discoverable = BooleanField("Visible to other associations of the alliance")
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    ecosystem_ids = SelectMultipleField("Industrial ecosystems", coerce=int, choices=[])
    cluster_ids = SelectMultipleField(
        "Member of clusters",
        coerce=int,
        choices=[],
        description="A cluster cannot be a member of itself.",
    )

    def fill_choices(self, org_id: int | None = None) -> None:
        """Ecosystems, and the clusters ``org_id`` may join or has joined (two statements)."""
        self.ecosystem_ids.choices = select_choices(choices.ecosystems())
        linked = None
        if org_id is not None:
            linked = select(ClusterMembership.cluster_id).where(
                ClusterMembership.member_id == org_id
            )
        self.cluster_ids.choices = select_choices(choices.clusters(keep=linked, exclude_id=org_id))

    version = version_field()

    def current_values(self, org: Organisation) -> dict:
        """The organisation's networks under the fields' names (the conflict page)."""
        clusters = select(ClusterMembership.cluster_id).where(ClusterMembership.member_id == org.id)
        return {
            "ecosystem_ids": [e.id for e in org.ecosystems],
            "cluster_ids": sorted(db.session.scalars(clusters)),
        }

    def organisation_data(self) -> dict:
        return {name: self[name].data for name in ORGANISATION_FIELDS}


class StatusForm(Form):
    status = SelectField(
        "New status",
        choices=labelled(MEMBERSHIP_STATUSES, "Choose…"),
        validators=[DataRequired("Choose the new status.")],
    )
    effective_on = DateField(
        "Effective on",
        default=date.today,
        validators=[DataRequired("Enter the date the change takes effect.")],
    )
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired("Say why the status changes."), Length(max=2000)],
        description="Kept in the membership history.",
    )
    version = version_field()


class TermsForm(Form):
    fee_tier = SelectField("Fee tier", choices=labelled(FEE_TIERS, "Not set"))
    paid_until = DateField("Paid until", validators=[Optional()])
    version = version_field()


class ContactForm(Form):
    class Meta:
        model = Contact

    first_name = StringField(
        "First name", validators=[DataRequired("Enter the first name."), Length(max=100)]
    )
    last_name = StringField(
        "Last name", validators=[DataRequired("Enter the last name."), Length(max=100)]
    )
    email = StringField("E-mail", validators=[Optional(), Rule(check_email)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    job_title = StringField("Job title", validators=[Optional(), Length(max=120)])
    is_primary = BooleanField("Primary contact of the organisation")
    consent_given = BooleanField("Consent to be contacted was given")
    consent_date = DateField("Consent date", validators=[Optional()])
    consent_source = SelectField("Consent given through", choices=labelled(CONSENT_SOURCES, "—"))
    version = version_field()

    def contact_data(self) -> dict:
        return {name: self[name].data for name in CONTACT_FIELDS}


class ConfirmForm(Form):
    """An empty form: CSRF for the action buttons (archive, delete, erase)."""
