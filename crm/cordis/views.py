"""The reconciliation page of an association's staff: what CORDIS says about its
members, with Accept and Dismiss; thin views over ``queries`` and ``services``."""

from __future__ import annotations

from datetime import date

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.accounts.access import STAFF, TENANT_ROLES, roles_required
from crm.cordis import bp, queries, services
from crm.cordis.forms import AcceptForm, DismissForm, PartnersForm
from crm.extensions import db
from crm.forms import saving
from crm.i18n import _
from crm.models.cordis import CordisProject
from crm.models.project import PARTICIPATION_ROLES, PROJECT_STATUSES, normalise_grant_number
from crm.projects import access


def staff_only(view):
    return login_required(roles_required(*STAFF)(view))


def _page(dismiss_form: DismissForm | None = None, status: int = 200):
    tenant_id = g.tenant.id
    return (
        render_template(
            "cordis/index.html",
            load=queries.last_load(),
            unrecorded=queries.unrecorded(tenant_id),
            suggestions=queries.name_suggestions(tenant_id),
            unknown=queries.unknown_grants(tenant_id),
            partners=queries.partners_to_add(tenant_id),
            partners_form=PartnersForm(),
            limit=queries.LIST_LIMIT,
            accept_form=AcceptForm(),
            dismiss_form=dismiss_form or DismissForm(),
            ROLES=PARTICIPATION_ROLES,
            statuses=PROJECT_STATUSES,
        ),
        status,
    )


@bp.route("/<tenant>/cordis")
@staff_only
def index():
    return _page()


@bp.route("/<tenant>/cordis/accept", methods=["POST"])
@staff_only
def accept():
    form = AcceptForm()
    if not form.validate():
        flash(_("That participation cannot be accepted: reload the page."), "error")
        return redirect(url_for("cordis.index"))
    with saving() as saved:
        project, added = services.accept(
            db.session,
            g.tenant.id,
            form.organisation_id.data,
            form.grant_key.data,
            user_id=current_user.id,
            today=date.today(),
        )
        project_id, acronym = project.id, project.acronym
    if saved:
        message = (
            _("Recorded in %(acronym)s.", acronym=acronym)
            if added
            else _("%(acronym)s already records it.", acronym=acronym)
        )
        flash(message, "success")
        return redirect(url_for("projects.show", project_id=project_id))
    return redirect(url_for("cordis.index"))


@bp.route("/<tenant>/cordis/dismiss", methods=["POST"])
@staff_only
def dismiss():
    form = DismissForm()
    if not form.validate():
        return _page(form, 422)
    with saving(form) as saved:
        services.dismiss(
            db.session,
            g.tenant.id,
            form.organisation_id.data,
            form.grant_key.data,
            form.reason.data,
            user_id=current_user.id,
        )
    if saved:
        flash(_("Dismissed: it leaves the list."), "success")
        return redirect(url_for("cordis.index"))
    return _page(form, 422)


@bp.route("/<tenant>/cordis/projects/<int:project_id>/partners", methods=["POST"])
@staff_only
def add_partners(project_id: int):
    """Add the project's CORDIS participants that are not members as external partners."""
    project = access.editable_project_or_404(project_id)
    if not PartnersForm().validate():
        flash(_("The partners cannot be added: reload the page."), "error")
        return redirect(url_for("cordis.index"))
    with saving() as saved:
        _added, done = services.add_consortium_partners(
            db.session, g.tenant.id, project.id, user_id=current_user.id
        )
    if saved:
        if done.added:
            flash(
                _("Added as external partners: %(names)s.", names=", ".join(done.added)),
                "success",
            )
        else:
            flash(_("No partner to add: CORDIS's other participants are in the project."), "info")
        for reason in done.skipped[:20]:
            flash(_("Not added: %(reason)s", reason=reason), "error")
    return redirect(url_for("projects.show", project_id=project_id))


@bp.route("/<tenant>/cordis/grant")
@login_required
@roles_required(*TENANT_ROLES)
def grant():
    """CORDIS's data of the grant ``?number=``, for the project form's pre-fill (JSON)."""
    key = normalise_grant_number((request.args.get("number") or "")[:60])
    cordis = db.session.get(CordisProject, key) if key and len(key) <= 40 else None
    if cordis is None:
        return jsonify(found=False), 404
    fields = services.project_fields(cordis, date.today())
    fields.pop("description")
    for name in ("start_date", "end_date"):
        fields[name] = fields[name].isoformat() if fields[name] else ""
    for name in ("total_budget", "eu_contribution"):
        fields[name] = str(fields[name]) if fields[name] is not None else ""
    return jsonify(found=True, fields=fields)
