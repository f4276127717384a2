"""Views of the projects area: load, check access, call a service, commit once.

Who sees and changes which project is decided in ``crm.projects.access``.
"""

from __future__ import annotations

from datetime import date
from functools import partial

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from crm import crosstenant
from crm.accounts.access import CLUSTER_MANAGERS, STAFF, TENANT_ROLES, roles_required
from crm.choices import PARTICIPATION_ROLES, PROJECT_STATUSES
from crm.downloads.exports import export_response
from crm.exports import FORMATS
from crm.extensions import db
from crm.forms import optional_id, render_form, saving, select_choices
from crm.i18n import _
from crm.models import Organisation, Project
from crm.projects import access, bp, partners, queries, services
from crm.projects.forms import (
    PARTNER_FIELDS,
    ClusterProposalForm,
    OutcomeForm,
    ParticipationEditForm,
    ParticipationForm,
    PartnerForm,
    ProjectForm,
    list_filters,
)


def _to_project(project: Project, message: str):
    flash(message, "success")
    return redirect(url_for("projects.show", project_id=project.id))


def _project_form(form_class, obj=None):
    form = form_class(obj=obj)
    form.fill_choices()
    if obj is not None and request.method == "GET":
        form.ecosystem_ids.data = [e.id for e in obj.ecosystems]
        form.flagship_ids.data = [f.id for f in obj.flagships]
    return form


# --- the list ---------------------------------------------------------------


@bp.route("/<tenant>/projects")
@roles_required(*STAFF)
def index():
    form, filters = list_filters(request.args)
    query = queries.projects(filters)
    fmt = request.args.get("format")
    if fmt in FORMATS:
        return export_response(
            "projects",
            fmt,
            f"projects-{g.tenant.slug}",
            partial(queries.count, query),
            partial(queries.export_rows, query),  # run as the CSV streams
        )
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"])
    ids = [p.id for p in page.items]
    names = queries.organisation_names(
        [*(p.cluster_id for p in page.items), filters.organisation_id]
    )
    return render_template(
        "projects/index.html",
        form=form,
        page=page,
        counts=queries.participant_counts(ids),
        names=names,
        filtered_organisation=names.get(filters.organisation_id),
        statuses=PROJECT_STATUSES,
    )


# --- one project --------------------------------------------------------------


@bp.route("/<tenant>/projects/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new():
    form = _project_form(ProjectForm)
    if form.validate_on_submit():
        with saving(form) as saved:
            project = services.create_project(
                db.session,
                g.tenant.id,
                form.project_data(),
                user_id=current_user.id,
                changed_on=form.status_changed_on.data,
            )
        if saved:
            return _to_project(project, _("%(acronym)s is recorded.", acronym=project.acronym))
    return render_form("projects/form.html", form, project=None)


@bp.route("/<tenant>/projects/<int:project_id>")
@roles_required(*TENANT_ROLES)
def show(project_id: int):
    project = access.visible_project_or_404(project_id)
    consortium = queries.consortium(project.id)
    return render_template(
        "projects/show.html",
        project=project,
        consortium=consortium,
        history=queries.status_history(project.id),
        countries=crosstenant.grant_countries(
            project.programme_code, project.grant_key, g.tenant.id
        ),
        can_edit=access.can_edit(project),
        allowed=access.allowed_organisations(),
        statuses=PROJECT_STATUSES,
        roles=PARTICIPATION_ROLES,
    )


@bp.route("/<tenant>/projects/<int:project_id>/edit", methods=["GET", "POST"])
@roles_required(*TENANT_ROLES)
def edit(project_id: int):
    project = access.editable_project_or_404(project_id)
    form = _project_form(ProjectForm, obj=project)
    if request.method == "GET":
        form.status_changed_on.data = date.today()
    if form.validate_on_submit():
        with saving(form, editing=project) as saved:
            services.update_project(
                db.session,
                project,
                form.project_data(),
                user_id=current_user.id,
                changed_on=form.status_changed_on.data,
                version=form.version.data,
            )
        if saved:
            return _to_project(project, _("%(acronym)s is updated.", acronym=project.acronym))
    return render_form("projects/form.html", form, project=project)


@bp.route("/<tenant>/projects/<int:project_id>/outcome", methods=["GET", "POST"])
@roles_required(*TENANT_ROLES)
def outcome(project_id: int):
    project = access.editable_project_or_404(project_id)
    form = OutcomeForm()
    if request.method == "GET":
        form.version.data = project.version
    if form.validate_on_submit():
        with saving(form, editing=project) as saved:
            services.record_outcome(
                db.session,
                project,
                form.status.data,
                form.changed_on.data,
                user_id=current_user.id,
                eu_contribution=form.eu_contribution.data,
                version=form.version.data,
            )
        if saved:
            status = str(PROJECT_STATUSES[project.status]).lower()
            return _to_project(
                project, _("%(acronym)s is now %(status)s.", acronym=project.acronym, status=status)
            )
    return render_form("projects/outcome.html", form, project=project, statuses=PROJECT_STATUSES)


# --- the consortium -------------------------------------------------------------


def _preselected() -> int | None:
    """``?organisation=`` (after a partner is recorded without JavaScript)."""
    try:
        return optional_id(request.args.get("organisation"))
    except ValueError:
        return None


def _participation_page(project: Project, form, partner_form, search: str = ""):
    """The add-a-participant page: the picker, and the new external partner form."""
    allowed = access.allowed_organisations()
    listed, more = queries.organisation_choices(
        allowed, search=search, selected=form.organisation_id.data
    )
    form.organisation_id.choices = select_choices([(None, _("— choose —")), *listed])
    page = render_template(
        "projects/participation.html",
        form=form,
        partner_form=partner_form,
        project=project,
        participation=None,
        search=search,
        more=more,
        limit=queries.CHOICES_LIMIT,
    )
    return page, (422 if form.errors or partner_form.errors else 200)


def _partner_form() -> PartnerForm:
    form = PartnerForm()
    form.fill_choices()
    return form


@bp.route("/<tenant>/projects/<int:project_id>/participations/new", methods=["GET", "POST"])
@roles_required(*TENANT_ROLES)
def participation_new(project_id: int):
    project = access.editable_project_or_404(project_id)
    form = ParticipationForm()
    if request.method == "GET":
        form.organisation_id.data = _preselected()
    # The picker lists the organisations whose name contains ?q= (at most
    # CHOICES_LIMIT); the service still checks whatever id comes back.
    search = request.args.get("q", "").strip()[:100]
    if form.validate_on_submit():
        with saving(form) as saved:
            services.add_participation(
                db.session,
                project,
                form.organisation_id.data,
                form.role.data,
                form.budget_share.data,
                user_id=current_user.id,
                allowed_ids=access.allowed_organisations(),
            )
        if saved:
            return _to_project(project, _("The participant is added."))
    return _participation_page(project, form, _partner_form(), search)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/<tenant>/projects/<int:project_id>/partners/new", methods=["POST"])
@roles_required(*TENANT_ROLES)
def partner_new(project_id: int):
    """Record an external partner (or find the existing one) without leaving the
    participant form: JSON for the page's script, a redirect back to the form
    with the partner chosen otherwise."""
    project = access.editable_project_or_404(project_id)
    form = _partner_form()
    organisation = reused = None
    if form.validate_on_submit():
        with saving(form, rename=PARTNER_FIELDS) as saved:
            organisation, reused = partners.record_external_partner(
                db.session, g.tenant.id, form.partner_fields(), access.allowed_organisations()
            )
        if not saved:
            organisation = None
    if organisation is None:
        if _wants_json():
            errors = {name: list(field.errors) for name, field in form._fields.items()}
            return jsonify(errors={k: v for k, v in errors.items() if v}), 422
        return _participation_page(project, ParticipationForm(formdata=None), form)
    message = (
        _("Existing external partner reused: %(name)s.", name=organisation.name)
        if reused
        else _("%(name)s is recorded as an external partner.", name=organisation.name)
    )
    if _wants_json():
        label = queries.choice_label(
            organisation.name, organisation.is_external, organisation.country
        )
        return jsonify(id=organisation.id, label=label, reused=reused, message=message)
    flash(message, "success")
    return redirect(
        url_for("projects.participation_new", project_id=project.id, organisation=organisation.id)
    )


@bp.route(
    "/<tenant>/projects/<int:project_id>/participations/<int:participation_id>/edit",
    methods=["GET", "POST"],
)
@roles_required(*TENANT_ROLES)
def participation_edit(project_id: int, participation_id: int):
    project = access.editable_project_or_404(project_id)
    participation = access.participation_or_404(project, participation_id)
    form = ParticipationEditForm(obj=participation)
    if form.validate_on_submit():
        with saving(form, editing=participation) as saved:
            services.update_participation(
                db.session,
                project,
                participation,
                form.role.data,
                form.budget_share.data,
                version=form.version.data,
            )
        if saved:
            return _to_project(project, _("The participant is updated."))
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.id == participation.organisation_id)
    )
    return render_form(
        "projects/participation.html",
        form,
        project=project,
        participation=participation,
        organisation=organisation,
    )


@bp.route(
    "/<tenant>/projects/<int:project_id>/participations/<int:participation_id>/remove",
    methods=["POST"],
)
@roles_required(*TENANT_ROLES)
def participation_remove(project_id: int, participation_id: int):
    project = access.editable_project_or_404(project_id)
    participation = access.participation_or_404(project, participation_id)
    services.remove_participation(db.session, participation)
    db.session.commit()
    return _to_project(project, _("The participant is removed."))


# --- the cluster manager's area -------------------------------------------------


@bp.route("/<tenant>/my-cluster")
@roles_required(*CLUSTER_MANAGERS)
def my_cluster():
    cluster = access.own_cluster_or_404()
    query = queries.projects(queries.ProjectFilters(cluster_id=cluster.id))
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"])
    return render_template(
        "projects/my_cluster.html",
        cluster=cluster,
        members=queries.members_of_cluster(cluster.id),
        page=page,
        counts=queries.participant_counts([p.id for p in page.items]),
        statuses=PROJECT_STATUSES,
    )


@bp.route("/<tenant>/my-cluster/proposals/new", methods=["GET", "POST"])
@roles_required(*CLUSTER_MANAGERS)
def cluster_proposal():
    cluster = access.own_cluster_or_404()
    form = _project_form(ClusterProposalForm)
    member_ids = queries.cluster_member_ids(cluster.id)
    members, _more = queries.organisation_choices(
        member_ids, limit=len(member_ids), externals=False
    )
    form.member_ids.choices = select_choices(members)
    if form.validate_on_submit():
        with saving(form) as saved:
            project = services.log_cluster_proposal(
                db.session,
                g.tenant.id,
                cluster.id,
                form.project_data(),
                form.member_ids.data,
                cluster_role=form.cluster_role.data,
                user_id=current_user.id,
                changed_on=form.status_changed_on.data,
            )
        if saved:
            return _to_project(
                project, _("The proposal %(acronym)s is logged.", acronym=project.acronym)
            )
    return render_form("projects/proposal.html", form, cluster=cluster)
