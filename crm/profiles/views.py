"""Views of the partner search: search, publish/withdraw, suggestions.
Load, check access, call a service, commit once, answer."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import regions
from crm.accounts.access import STAFF, TENANT_ROLES, roles_required
from crm.extensions import db
from crm.forms import render_form, saving
from crm.i18n import _
from crm.members.queries import MAX_ID, organisation_or_none
from crm.models import Ecosystem, Programme
from crm.profiles import bp, search, services, suggestions
from crm.profiles.forms import AddSuggestionForm, PublishForm
from crm.projects import access
from crm.projects import queries as project_queries
from crm.projects import services as project_services
from crm.projects.partners import PartnerFields, record_external_partner


@bp.route("/<tenant>/partners")
@login_required
@roles_required(*TENANT_ROLES)
def index():
    """The search; from a proposal (``?project_id=``), each result can join its consortium."""
    filters = search.ProfileFilters.from_args(request.args)
    project = None
    project_id = request.args.get("project_id", type=int)
    if project_id is not None and 0 < project_id <= MAX_ID:
        project = access.editable_project_or_404(project_id)
    return render_template(
        "profiles/search.html",
        filters=filters,
        countries=regions.country_choices(regions.association_country()),
        region_choices=regions.region_choices(regions.association_country()),
        project=project,
        add_form=AddSuggestionForm(formdata=None),
        page=search.search(filters),
        ecosystems=db.session.execute(
            select(Ecosystem.code, Ecosystem.name).order_by(Ecosystem.name)
        ).all(),
        programmes=db.session.execute(
            select(Programme.code, Programme.name).order_by(Programme.code)
        ).all(),
    )


def _member_or_404(org_id: int):
    org = organisation_or_none(org_id) if org_id <= MAX_ID else None
    if org is None:
        abort(404)
    return org


@bp.route("/<tenant>/members/<int:org_id>/profile", methods=["GET", "POST"])
@login_required
@roles_required(*STAFF)
def publish(org_id: int):
    """Publish (or refresh) the organisation's partner profile: the consent of the association."""
    org = _member_or_404(org_id)
    profile = services.profile_of(db.session, org.id)
    form = PublishForm(obj=profile)
    if form.validate_on_submit():
        with saving(form) as saved:
            services.publish(db.session, org, form.capabilities.data, form.keywords.data)
        if saved:
            flash(
                _("The partner profile of %(name)s is published to the alliance.", name=org.name),
                "success",
            )
            return redirect(url_for("members.show", org_id=org.id))
    return render_form("profiles/publish.html", form, org=org, profile=profile)


@bp.route("/<tenant>/members/<int:org_id>/profile/withdraw", methods=["POST"])
@login_required
@roles_required(*STAFF)
def withdraw(org_id: int):
    org = _member_or_404(org_id)
    if PublishForm().validate_on_submit():
        if services.withdraw(db.session, org):
            flash(_("The partner profile of %(name)s is withdrawn.", name=org.name), "success")
        db.session.commit()
    return redirect(url_for("members.show", org_id=org.id))


def _suggestions_page(project, form):
    consortium = [org for _, org in project_queries.consortium(project.id)]
    return render_form(
        "profiles/suggestions.html",
        form,
        project=project,
        suggestions=suggestions.suggest(project, consortium, g.tenant.id),
        can_edit=access.can_edit(project),
    )


@bp.route("/<tenant>/projects/<int:project_id>/suggestions")
@login_required
@roles_required(*TENANT_ROLES)
def suggested(project_id: int):
    project = access.visible_project_or_404(project_id)
    return _suggestions_page(project, AddSuggestionForm(formdata=None))


@bp.route("/<tenant>/projects/<int:project_id>/suggestions/add", methods=["POST"])
@login_required
@roles_required(*TENANT_ROLES)
def add_suggestion(project_id: int):
    """One click: the suggested organisation becomes (or is found again as) an
    external partner of the user's association, and joins the consortium."""
    project = access.editable_project_or_404(project_id)
    form = AddSuggestionForm()
    if form.validate_on_submit():
        profile = suggestions.published_profile(form.profile_id.data, g.tenant.id)
        if profile is None:
            form.profile_id.errors.append(_("This partner profile is no longer published."))
        else:
            allowed = access.allowed_organisations()
            with saving(form, rename={"organisation_id": "profile_id"}) as saved:
                org, _reused = record_external_partner(
                    db.session,
                    g.tenant.id,
                    PartnerFields(
                        name=profile.name,
                        country=profile.country,
                        kind=profile.kind,
                        city=profile.city,
                        website=profile.website,
                    ),
                    allowed,
                )
                project_services.add_participation(
                    db.session,
                    project,
                    org.id,
                    form.role.data,
                    user_id=current_user.id,
                    allowed_ids=allowed,
                )
            if saved:
                flash(_("%(name)s is added to the consortium.", name=profile.name), "success")
                return redirect(url_for("projects.show", project_id=project.id))
    return _suggestions_page(project, form)
