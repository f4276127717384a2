"""Forms of the projects area. Reference choices come from ``crm.choices``; the
rules in ``crm.projects.rules`` run in the services, whose errors the views
put back on these fields."""

from __future__ import annotations

from datetime import date

from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm import choices, regions
from crm.choices import KINDS, PARTICIPATION_ROLES, PROJECT_STATUSES
from crm.conflicts import version_field
from crm.countries import check_known_country
from crm.forms import Form, LocalDecimalField, QuickSelect, labelled, optional_id, select_choices
from crm.i18n import _, _l
from crm.models import Participation, Project
from crm.projects.partners import PartnerFields, check_pic, normalise_pic
from crm.projects.queries import ProjectFilters
from crm.validation import MAX_ID, Rule, check_url

OUTCOME_STATUSES = {s: label for s, label in PROJECT_STATUSES.items() if s != "proposal"}


def _money(label: str, description: str | None = None) -> LocalDecimalField:
    return LocalDecimalField(
        label,
        places=2,
        validators=[
            Optional(),
            NumberRange(max=10**12 - 1, message=_l("That amount is too large.")),
        ],
        description=description,
    )


def _today() -> date:
    return date.today()


class ProjectFields(Form):
    class Meta:
        model = Project

    programme_code = SelectField(_l("Programme"), validators=[DataRequired()])
    call_id = StringField(_l("Call id"), validators=[Optional(), Length(max=80)])
    grant_number = StringField(
        _l("Grant agreement number"),
        validators=[Optional(), Length(max=40)],
        description=_l("Matched across associations after normalising case, spaces and prefixes."),
    )
    acronym = StringField(_l("Acronym"), validators=[DataRequired(), Length(max=40)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    total_budget = _money(_l("Total budget (EUR)"))
    eu_contribution = _money(
        _l("EU contribution received (EUR)"), _l("Leave empty for proposals and rejected projects.")
    )
    flagship_ids = SelectMultipleField(_l("Recovery flagship areas"), coerce=int)
    ecosystem_ids = SelectMultipleField(_l("Ecosystems"), coerce=int)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])

    def fill_choices(self) -> None:
        """The reference lists (three statements), read when the form is built."""
        self.programme_code.choices = select_choices(
            [("", _l("— choose —")), *choices.programmes()]
        )
        self.ecosystem_ids.choices = select_choices(choices.ecosystems())
        self.flagship_ids.choices = select_choices(choices.flagships())

    def project_data(self) -> dict:
        keys = (
            "programme_code",
            "call_id",
            "grant_number",
            "acronym",
            "title",
            "start_date",
            "end_date",
            "total_budget",
            "eu_contribution",
            "description",
            "ecosystem_ids",
            "flagship_ids",
        )
        data = {key: getattr(self, key).data for key in keys}
        for key in ("call_id", "grant_number", "description"):
            data[key] = (data[key] or "").strip() or None
        data["acronym"] = data["acronym"].strip()
        data["title"] = data["title"].strip()
        return data


class ProjectForm(ProjectFields):
    status = SelectField(
        _l("Status"), choices=labelled(PROJECT_STATUSES), validators=[DataRequired()]
    )
    status_changed_on = DateField(
        _l("Status since"),
        default=_today,
        validators=[InputRequired(message=_l("Give the date of the status."))],
        description=_l("The date the project reached this status (kept in its history)."),
    )
    version = version_field()

    def current_values(self, project: Project) -> dict:
        """The project's collections under the fields' names (the conflict page)."""
        return {
            "ecosystem_ids": [e.id for e in project.ecosystems],
            "flagship_ids": [f.id for f in project.flagships],
        }

    def project_data(self) -> dict:
        return {**super().project_data(), "status": self.status.data}


class ClusterProposalForm(ProjectFields):
    status = SelectField(
        _l("Status"),
        choices=select_choices((s, PROJECT_STATUSES[s]) for s in ("proposal", "submitted")),
        validators=[DataRequired()],
    )
    status_changed_on = ProjectForm.status_changed_on
    cluster_role = SelectField(
        _l("The cluster's role"), choices=labelled(PARTICIPATION_ROLES), default="coordinator"
    )
    # Choices are the cluster's members; an id that is not among them is
    # refused by the service with a field error (validate_choice off for a clear message).
    member_ids = SelectMultipleField(
        _l("Member organisations taking part"), coerce=int, validate_choice=False
    )

    def project_data(self) -> dict:
        return {**super().project_data(), "status": self.status.data}


class OutcomeForm(Form):
    class Meta:
        model = Project

    status = SelectField(
        _l("New status"), choices=labelled(OUTCOME_STATUSES), validators=[DataRequired()]
    )
    changed_on = DateField(
        _l("Date"), default=_today, validators=[InputRequired(message=_l("Give the date."))]
    )
    eu_contribution = _money(_l("EU contribution received (EUR)"), _l("For funded projects."))
    version = version_field()


class ParticipationForm(Form):
    class Meta:
        model = Participation

    # validate_choice off: a tampered id gets the service's clear message.
    organisation_id = SelectField(
        _l("Organisation"), coerce=optional_id, validate_choice=False, validators=[Optional()]
    )
    role = SelectField(
        _l("Role"), choices=labelled(PARTICIPATION_ROLES), validators=[DataRequired()]
    )
    budget_share = _money(_l("Budget share (EUR)"))


class PartnerForm(Form):
    """A new external partner, typed beside the participant picker. Field names
    carry a ``partner_`` prefix so the picker's own fields never clash."""

    partner_name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the partner's name.")), Length(max=200)]
    )
    partner_country = SelectField(
        _l("Country"),
        validators=[DataRequired(_l("Choose the partner's country.")), Rule(check_known_country)],
    )
    partner_city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    partner_kind = SelectField(_l("Kind"), choices=labelled(KINDS), default="firm")
    partner_pic = StringField(
        "PIC",
        validators=[Optional(), Rule(check_pic)],
        description=_l("The EU Participant Identification Code: 9 digits (optional)."),
    )
    partner_website = StringField(_l("Website"), validators=[Optional(), Rule(check_url)])

    def fill_choices(self) -> None:
        self.partner_country.choices = select_choices(
            [("", _("— choose —")), *regions.country_choices(regions.association_country())]
        )

    def partner_fields(self) -> PartnerFields:
        return PartnerFields(
            name=self.partner_name.data.strip(),
            country=self.partner_country.data,
            kind=self.partner_kind.data,
            city=(self.partner_city.data or "").strip() or None,
            pic=normalise_pic(self.partner_pic.data),
            website=(self.partner_website.data or "").strip() or None,
        )


# Service field names -> the partner form's.
PARTNER_FIELDS = {name: f"partner_{name}" for name in ("name", "country", "kind", "pic", "website")}


class ParticipationEditForm(Form):
    class Meta:
        model = Participation

    role = ParticipationForm.role
    budget_share = ParticipationForm.budget_share
    version = version_field()


class ProjectFilterForm(Form):
    class Meta:
        csrf = False

    programme = SelectField(
        _l("Programme"), validators=[Optional()], validate_choice=False, widget=QuickSelect()
    )
    status = SelectField(
        _l("Status"),
        choices=labelled(PROJECT_STATUSES, _l("any")),
        validators=[Optional()],
        widget=QuickSelect(),
    )
    year = IntegerField(_l("Start year"), validators=[Optional(), NumberRange(1950, 2100)])
    ecosystem = SelectField(
        _l("Ecosystem"), coerce=optional_id, validators=[Optional()], widget=QuickSelect()
    )
    cluster = SelectField(
        _l("Cluster"), coerce=optional_id, validators=[Optional()], widget=QuickSelect()
    )
    organisation = IntegerField(
        _l("Organisation id"), validators=[Optional(), NumberRange(1, MAX_ID)]
    )


def list_filters(args) -> tuple[ProjectFilterForm, ProjectFilters]:
    """The project list's filter form for query ``args`` (its choices read), and
    the filters it gives: none when a value is not valid (never an error). The
    list page and its background export read the same filters."""
    form = ProjectFilterForm(args)
    form.programme.choices = select_choices([("", _("any")), *choices.programmes()])
    form.ecosystem.choices = select_choices([(None, _("any")), *choices.ecosystems()])
    form.cluster.choices = select_choices(
        [(None, _("any")), *choices.clusters(keep=[form.cluster.data])]
    )
    if not form.validate():
        return form, ProjectFilters()
    return form, ProjectFilters(
        programme=form.programme.data or None,
        status=form.status.data or None,
        year=form.year.data,
        ecosystem_id=form.ecosystem.data,
        cluster_id=form.cluster.data,
        organisation_id=form.organisation.data,
    )
