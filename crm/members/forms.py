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
from crm.mail import consent
from crm.members.services import ORGANISATION_FIELDS
from crm.models import ClusterMembership, Contact, Organisation
from crm.models.contact import CONTACT_FIELDS
from crm.models.mail import CONSENT_SOURCES as MAIL_CONSENT_SOURCES
from crm.models.mail import PURPOSES
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

MAIL_CONSENT_CHOICES = labelled({"granted": "Agreed", "refused": "Refused"}, "Not said")


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
        validators=[Optional(), Rule(check_nace)],
        description="Section (C), division (26), group (26.1) or class (26.11).",
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
    # What the person said about each purpose of e-mail (crm.mail.consent).
    mail_membership = SelectField(
        PURPOSES["membership"],
        choices=MAIL_CONSENT_CHOICES,
        default="",
        description="Sent unless refused.",
    )
    mail_newsletters = SelectField(
        PURPOSES["newsletters"],
        choices=MAIL_CONSENT_CHOICES,
        default="",
        description="Sent only when agreed.",
    )
    version = version_field()

    def contact_data(self) -> dict:
        return {name: self[name].data for name in CONTACT_FIELDS}

    def mail_consents(self) -> dict[str, bool | None]:
        """{purpose: True (agreed), False (refused) or None (not said)}, for the
        purposes submitted: a post without them leaves the answers as they are."""
        fields = {p: self[f"mail_{p}"] for p in PURPOSES}
        return {p: consent.SAID[f.data or ""] for p, f in fields.items() if f.raw_data}

    def show_mail_consents(self, said: dict, fill: bool) -> None:
        """Say beside each e-mail consent field when and how the current answer
        was given ({purpose: consent}); ``fill``: also preselect it."""
        for purpose in PURPOSES:
            answer, field = said.get(purpose), self[f"mail_{purpose}"]
            if fill:
                field.data = "" if answer is None else "granted" if answer.granted else "refused"
            if answer is not None:
                source = MAIL_CONSENT_SOURCES.get(answer.source, answer.source).lower()
                field.description += (
                    f" Now: {'agreed' if answer.granted else 'refused'} on "
                    f"{answer.changed_at:%Y-%m-%d} ({source})."
                )


class ConfirmForm(Form):
    """An empty form: CSRF for the action buttons (archive, delete, erase)."""
