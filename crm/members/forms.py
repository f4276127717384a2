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
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm import choices, formats
from crm.choices import CONSENT_SOURCES, FEE_TIERS, KINDS, MEMBERSHIP_STATUSES
from crm.conflicts import version_field
from crm.currencies import DEFAULT_CURRENCY, labelled_codes
from crm.extensions import db
from crm.forms import (
    CountryField,
    Form,
    LocalDecimalField,
    LocalIntegerField,
    RegionField,
    labelled,
    select_choices,
)
from crm.i18n import _, _l
from crm.identifiers import normalise_lei, normalise_pic, normalise_ror
from crm.mail import consent
from crm.members.services import ORGANISATION_FIELDS
from crm.models import ClusterMembership, Contact, Organisation
from crm.models.contact import CONTACT_FIELDS, CONTACT_ROLES
from crm.models.mail import CONSENT_SOURCES as MAIL_CONSENT_SOURCES
from crm.models.mail import PURPOSES
from crm.models.membership import DEFAULT_PERIOD_MONTHS
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
    normalise_url,
)

MAIL_CONSENT_CHOICES = labelled({"granted": _l("Agreed"), "refused": _l("Refused")}, _l("Not said"))


class OrganisationForm(Form):
    class Meta:
        model = Organisation

    kind = SelectField(
        _l("Kind"),
        choices=labelled(KINDS, _l("Choose…")),
        validators=[DataRequired(_l("Choose the kind."))],
    )
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the organisation's name.")), Length(max=200)]
    )
    legal_name = StringField(_l("Legal name"), validators=[Optional(), Length(max=250)])
    country = CountryField(
        _l("Country"),
        blank=_l("Choose…"),
        validators=[DataRequired(_l("Choose the country.")), Rule(check_country)],
    )
    nuts2 = RegionField(
        _l("NUTS-2 region"),
        blank="—",
        validators=[Optional(), Rule(check_nuts2, "country")],
        description=_l("The association's country's regions come first."),
    )
    street = StringField(_l("Street and number"), validators=[Optional(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=20)])
    nuts_revision = SelectField(
        _l("NUTS revision"),
        choices=labelled(NUTS_REVISIONS),
        default=DEFAULT_NUTS_REVISION,
        validators=[DataRequired(_l("Choose the NUTS revision."))],
    )
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    registration_id = StringField(
        _l("Registration number"),
        validators=[Optional(), Length(max=40), Rule(check_registration_id, "country")],
        description=_l("The national company or organisation number (SIREN, REGON, CIF…)."),
    )
    vat_id = StringField(
        _l("VAT number"),
        validators=[Optional(), Length(max=20), Rule(check_vat_id, "country")],
        description=_l("With the country prefix, such as FR40303265045."),
    )
    pic = StringField(
        "PIC",
        filters=[normalise_pic],  # before the column's length is checked
        validators=[Optional(), Rule(check_pic)],
        description=_l("The EU Participant Identification Code: 9 digits."),
    )
    lei = StringField(
        "LEI",
        filters=[normalise_lei],
        validators=[Optional(), Rule(check_lei)],
        description=_l("Legal Entity Identifier (ISO 17442): 20 characters."),
    )
    ror = StringField(
        _l("ROR id"),
        filters=[normalise_ror],  # the link https://ror.org/… is pasted as often as the id
        validators=[Optional(), Rule(check_ror, "kind")],
        description=_l("Universities and research organisations, such as 03vek6s52."),
    )
    website = StringField(
        _l("Website"),
        filters=[normalise_url],  # www.example.es is stored as https://www.example.es
        validators=[Optional(), Rule(check_url)],
    )
    nace = StringField(
        _l("NACE code"),
        validators=[Optional(), Rule(check_nace, "nace_revision")],
        description=_l("Section (C), division (26), group (26.1) or class (26.11)."),
    )
    nace_revision = SelectField(
        _l("NACE revision"),
        choices=labelled(NACE_REVISIONS),
        default=DEFAULT_NACE_REVISION,
        validators=[DataRequired(_l("Choose the NACE revision."))],
    )
    employees = LocalIntegerField(
        _l("Employees (headcount)"),
        validators=[Optional(), Rule(check_non_negative, integer=True, maximum=10_000_000)],
    )
    turnover_eur = LocalDecimalField(
        _l("Annual turnover (EUR)"), validators=[Optional(), Rule(check_non_negative, maximum=9e15)]
    )
    balance_sheet_eur = LocalDecimalField(
        _l("Balance-sheet total (EUR)"),
        validators=[Optional(), Rule(check_non_negative, maximum=9e15)],
    )
    founded_year = StringField(_l("Founded (year)"), validators=[Optional(), Rule(check_year)])
    is_startup = BooleanField(_l("Start-up"))
    discoverable = BooleanField(_l("Visible to other associations of the alliance"))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    ecosystem_ids = SelectMultipleField(_l("Industrial ecosystems"), coerce=int, choices=[])
    cluster_ids = SelectMultipleField(
        _l("Member of clusters"),
        coerce=int,
        choices=[],
        description=_l("A cluster cannot be a member of itself."),
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
        _l("New status"),
        choices=labelled(MEMBERSHIP_STATUSES, _l("Choose…")),
        validators=[DataRequired(_l("Choose the new status."))],
    )
    effective_on = DateField(
        _l("Effective on"),
        default=date.today,
        validators=[DataRequired(_l("Enter the date the change takes effect."))],
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("Say why the status changes.")), Length(max=2000)],
        description=_l("Kept in the membership history."),
    )
    version = version_field()


class TermsForm(Form):
    fee_tier = SelectField(_l("Fee tier"), choices=labelled(FEE_TIERS, _l("Not set")))
    fee_amount = LocalDecimalField(
        _l("Fee per period"),
        places=2,
        validators=[Optional(), Rule(check_non_negative, maximum=9_999_999_999)],
        description=_l("What one membership period costs; the dashboard's outstanding sums it."),
    )
    fee_currency = SelectField(
        _l("Fee currency"), choices=labelled(labelled_codes()), default=DEFAULT_CURRENCY
    )
    period_months = LocalIntegerField(
        _l("Membership period (months)"),
        default=DEFAULT_PERIOD_MONTHS,
        validators=[
            DataRequired(_l("Enter the period in months.")),
            NumberRange(1, 120, _l("Enter between 1 and 120 months.")),
        ],
        description=_l("How far a payment moves the paid-until date."),
    )
    paid_until = DateField(_l("Paid until"), validators=[Optional()])
    version = version_field()


class ContactForm(Form):
    class Meta:
        model = Contact

    first_name = StringField(
        _l("First name"), validators=[DataRequired(_l("Enter the first name.")), Length(max=100)]
    )
    last_name = StringField(
        _l("Last name"), validators=[DataRequired(_l("Enter the last name.")), Length(max=100)]
    )
    email = StringField(_l("E-mail"), validators=[Optional(), Rule(check_email)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    # Checked by the service (a role outside the list is refused beside the field).
    role = SelectField(_l("Role"), choices=labelled(CONTACT_ROLES, "—"), validate_choice=False)
    is_primary = BooleanField(_l("Primary contact of the organisation"))
    consent_given = BooleanField(_l("Consent to be contacted was given"))
    consent_date = DateField(_l("Consent date"), validators=[Optional()])
    consent_source = SelectField(
        _l("Consent given through"), choices=labelled(CONSENT_SOURCES, "—")
    )
    # What the person said about each purpose of e-mail (crm.mail.consent).
    mail_membership = SelectField(
        PURPOSES["membership"],
        choices=MAIL_CONSENT_CHOICES,
        default="",
        description=_l("Sent unless refused."),
    )
    mail_newsletters = SelectField(
        PURPOSES["newsletters"],
        choices=MAIL_CONSENT_CHOICES,
        default="",
        description=_l("Sent only when agreed."),
    )
    version = version_field()

    def contact_data(self) -> dict:
        return {name: self[name].data for name in (*CONTACT_FIELDS, "role")}

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
                source = str(MAIL_CONSENT_SOURCES.get(answer.source, answer.source)).lower()
                now = (
                    _("Now: agreed on %(day)s (%(source)s).")
                    if answer.granted
                    else _("Now: refused on %(day)s (%(source)s).")
                )
                day = formats.date(answer.changed_at)
                field.description = f"{field.description} {now % {'day': day, 'source': source}}"


class ConfirmForm(Form):
    """An empty form: CSRF for the action buttons (archive, delete, erase)."""


class NewMemberForm(OrganisationForm):
    """One page for a new member: the organisation (``OrganisationForm``'s fields),
    its first membership and its primary contact, and the duplicate confirmation."""

    status = SelectField(
        _l("Membership status"),
        choices=[
            SelectChoice("", _l("No membership yet")),
            SelectChoice("applicant", MEMBERSHIP_STATUSES["applicant"]),
            SelectChoice("active", MEMBERSHIP_STATUSES["active"]),
        ],
        default="active",
    )
    joined_on = DateField(_l("Member since"), default=date.today, validators=[Optional()])
    # Blank defaults: a post without these fields (an organisation alone) is valid.
    fee_tier = SelectField(_l("Fee tier"), choices=labelled(FEE_TIERS, _l("Not set")), default="")
    paid_until = DateField(_l("Paid until"), validators=[Optional()])
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=100)])
    email = StringField(_l("E-mail"), validators=[Optional(), Rule(check_email)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    consent_given = BooleanField(_l("Consent to be contacted was given"))
    consent_date = DateField(_l("Consent date"), validators=[Optional()])
    consent_source = SelectField(
        _l("Consent given through"), choices=labelled(CONSENT_SOURCES, "—"), default=""
    )
    save_anyway = BooleanField(_l("It is not a duplicate: save anyway"))

    CONTACT = ("first_name", "last_name", "email", "phone", "job_title")

    def membership_data(self) -> dict:
        return {k: self[k].data or None for k in ("status", "joined_on", "fee_tier", "paid_until")}

    def contact_data(self) -> dict | None:
        """The primary contact, or None when none of its fields is filled in."""
        if not any((self[k].data or "").strip() for k in self.CONTACT):
            return None
        return {k: self[k].data for k in CONTACT_FIELDS if k != "is_primary"}
