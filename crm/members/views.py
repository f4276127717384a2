"""Views of the members area: load, check access, call a service, commit once, answer."""

from __future__ import annotations

import json
from datetime import date
from functools import partial

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import choices
from crm.accounts.access import STAFF, roles_required
from crm.downloads.exports import export_response
from crm.extensions import db
from crm.forms import render_form, saving
from crm.mailings.queries import sent_to_organisation
from crm.members import bp, queries, services
from crm.members.forms import ConfirmForm, ContactForm, OrganisationForm, StatusForm, TermsForm
from crm.models import Contact
from crm.validation import nuts_prefix


def staff_only(view):
    """Signed in as the association's secretariat or admin (others: 404, nothing leaks)."""
    return login_required(roles_required(*STAFF)(view))


def _org_or_404(org_id: int):
    org = queries.organisation_or_none(org_id) if org_id <= queries.MAX_ID else None
    if org is None:
        abort(404)
    return org


def _contact_or_404(contact_id: int) -> Contact:
    if contact_id > queries.MAX_ID:
        abort(404)
    contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
    if contact is None:
        abort(404)
    return contact


def _to_organisation(org_id: int, message: str, anchor: str | None = None):
    """After a saved change: say so, and back to the organisation's page."""
    flash(message, "success")
    return redirect(url_for("members.show", org_id=org_id, _anchor=anchor))


@bp.app_context_processor
def labels():
    return {
        "KINDS": choices.KINDS,
        "SIZE_CLASSES": choices.SIZE_CLASSES,
        "MEMBERSHIP_STATUSES": choices.MEMBERSHIP_STATUSES,
        "FEE_TIERS": choices.FEE_TIERS,
        "CONSENT_SOURCES": choices.CONSENT_SOURCES,
    }


# -- dashboard and directory ----------------------------------------------


@bp.route("/<tenant>/dashboard")
@staff_only
def dashboard():
    figures = queries.dashboard_figures(g.tenant.id, date.today())
    return render_template("members/dashboard.html", figures=figures)


@bp.route("/<tenant>/members")
@staff_only
def directory():
    filters = queries.DirectoryFilters.from_args(request.args, current_app.config["PAGE_SIZE"])
    page = queries.directory_page(filters)
    return render_template(
        "members/directory.html",
        filters=filters,
        page=page,
        choices={"ecosystems": choices.ecosystems(), "clusters": choices.clusters()},
        sorts=queries.SORTS,
        relations=queries.RELATIONS,
        identifier_filters=queries.IDENTIFIER_FILTERS,
        region_prefix=nuts_prefix(g.tenant.country) or "",
    )


@bp.route("/<tenant>/members/export.<any(csv, xlsx):fmt>")
@staff_only
def export(fmt: str):
    filters = queries.DirectoryFilters.from_args(request.args)
    return export_response(
        "members",
        fmt,
        f"members-{g.tenant.slug}-{date.today()}",
        partial(queries.directory_count, filters),
        partial(queries.directory_export_rows, filters),  # run as the CSV streams
    )


# -- organisations -----------------------------------------------------------


def _organisation_form(org=None) -> OrganisationForm:
    form = OrganisationForm(obj=org)
    form.fill_choices(org.id if org else None)
    if org is not None and request.method == "GET":
        form.ecosystem_ids.data = [e.id for e in org.ecosystems]
        form.cluster_ids.data = queries.cluster_ids_of(org.id)
    return form


@bp.route("/<tenant>/members/new", methods=["GET", "POST"])
@staff_only
def create():
    form = _organisation_form()
    if request.method == "GET" and not form.country.data:
        form.country.data = g.tenant.country
    if form.validate_on_submit():
        with saving(form) as saved:
            org = services.create_organisation(
                db.session,
                g.tenant.id,
                form.organisation_data(),
                form.ecosystem_ids.data,
                form.cluster_ids.data,
            )
        if saved:
            message = f"{org.name} is added. Record its membership status next."
            return _to_organisation(org.id, message)
    return render_form("members/form.html", form, org=None)


@bp.route("/<tenant>/members/<int:org_id>")
@staff_only
def show(org_id: int):
    org = _org_or_404(org_id)
    membership = None if org.is_external else queries.membership_of(org.id)
    return render_template(
        "members/show.html",
        org=org,
        membership=membership,
        history=queries.status_history(membership.id) if membership else [],
        clusters=queries.clusters_of(org.id),
        cluster=(
            queries.cluster_summary(org.id)
            if org.kind == "cluster" and not org.is_external
            else None
        ),
        contacts=queries.contacts_of(org.id),
        mail_sent=sent_to_organisation(org.id),
        participations=queries.participations_of(org.id),
        audit=queries.audit_history(g.tenant.id, "organisations", org.id),
        confirm=ConfirmForm(),
    )


@bp.route("/<tenant>/members/<int:org_id>/edit", methods=["GET", "POST"])
@staff_only
def edit(org_id: int):
    org = _org_or_404(org_id)
    form = _organisation_form(org)
    if form.validate_on_submit():
        with saving(form, editing=org) as saved:
            services.update_organisation(
                db.session,
                g.tenant.id,
                org,
                form.organisation_data(),
                form.ecosystem_ids.data,
                form.cluster_ids.data,
                version=form.version.data,
            )
        if saved:
            return _to_organisation(org.id, f"{org.name} is saved.")
    return render_form("members/form.html", form, org=org)


@bp.route("/<tenant>/members/<int:org_id>/archive", methods=["POST"])
@staff_only
def archive(org_id: int):
    org = _org_or_404(org_id)
    if ConfirmForm().validate_on_submit():
        if org.archived:
            services.restore_organisation(db.session, org)
            flash(f"{org.name} is back in the directory.", "success")
        else:
            services.archive_organisation(db.session, org)
            flash(f"{org.name} is archived: it no longer shows in lists and figures.", "success")
        db.session.commit()
    return redirect(url_for("members.show", org_id=org.id))


# -- membership lifecycle -------------------------------------------------------


@bp.route("/<tenant>/members/<int:org_id>/status", methods=["GET", "POST"])
@staff_only
def change_status(org_id: int):
    org = _org_or_404(org_id)
    membership = queries.membership_of(org.id)
    form = StatusForm()
    if request.method == "GET" and membership is not None:
        form.version.data = membership.version
    if form.validate_on_submit():
        with saving(form, editing=membership) as saved:
            services.change_membership_status(
                db.session,
                g.tenant.id,
                org,
                form.status.data,
                effective_on=form.effective_on.data,
                reason=form.reason.data,
                user_id=current_user.id,
                version=form.version.data,
            )
        if saved:
            status = choices.MEMBERSHIP_STATUSES[form.status.data]
            return _to_organisation(org.id, f"{org.name}: membership is now {status}.")
    return render_form("members/status.html", form, org=org, membership=membership)


@bp.route("/<tenant>/members/<int:org_id>/terms", methods=["GET", "POST"])
@staff_only
def edit_terms(org_id: int):
    org = _org_or_404(org_id)
    membership = queries.membership_of(org.id)
    if membership is None:
        flash("Record a membership status first; fee and payment follow.", "warning")
        return redirect(url_for("members.change_status", org_id=org.id))
    form = TermsForm(obj=membership)
    if form.validate_on_submit():
        with saving(form, editing=membership) as saved:
            services.set_membership_terms(
                db.session,
                membership,
                form.fee_tier.data,
                form.paid_until.data,
                version=form.version.data,
            )
        if saved:
            return _to_organisation(org.id, "Fee tier and payment date are saved.")
    return render_form("members/terms.html", form, org=org, membership=membership)


@bp.route("/<tenant>/renewals")
@staff_only
def renewals():
    which = request.args.get("list", "due")
    if which not in queries.RENEWAL_LISTS:
        which = "due"
    try:
        number = min(max(1, int(request.args.get("page", 1))), 1_000_000)
    except ValueError:
        number = 1
    today = date.today()
    page = queries.renewal_page(which, today, number, current_app.config["PAGE_SIZE"])
    return render_template(
        "members/renewals.html",
        which=which,
        page=page,
        counts=queries.renewal_counts(today),
        lists=queries.RENEWAL_LISTS,
        window=queries.RENEWAL_WINDOW_DAYS,
    )


# -- contacts -------------------------------------------------------------------


@bp.route("/<tenant>/members/<int:org_id>/contacts/new", methods=["GET", "POST"])
@staff_only
def contact_new(org_id: int):
    org = _org_or_404(org_id)
    form = ContactForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            services.create_contact(db.session, g.tenant.id, org, form.contact_data())
        if saved:
            name = f"{form.first_name.data} {form.last_name.data}"
            return _to_organisation(org.id, f"{name} is added.", "contacts")
    return render_form("members/contact_form.html", form, org=org, contact=None)


@bp.route("/<tenant>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@staff_only
def contact_edit(contact_id: int):
    contact = _contact_or_404(contact_id)
    org = _org_or_404(contact.organisation_id)
    if contact.erased_at is not None:
        flash("This contact was erased and cannot be edited.", "warning")
        return redirect(url_for("members.show", org_id=org.id, _anchor="contacts"))
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        with saving(form, editing=contact) as saved:
            services.update_contact(
                db.session, contact, form.contact_data(), version=form.version.data
            )
        if saved:
            return _to_organisation(org.id, f"{contact.full_name} is saved.", "contacts")
    return render_form("members/contact_form.html", form, org=org, contact=contact)


@bp.route("/<tenant>/contacts/<int:contact_id>/delete", methods=["POST"])
@staff_only
def contact_delete(contact_id: int):
    contact = _contact_or_404(contact_id)
    org_id = contact.organisation_id
    if ConfirmForm().validate_on_submit():
        name = contact.full_name
        services.delete_contact(db.session, contact)
        db.session.commit()
        flash(f"{name} is deleted.", "success")
    return redirect(url_for("members.show", org_id=org_id, _anchor="contacts"))


@bp.route("/<tenant>/contacts/<int:contact_id>/erase", methods=["POST"])
@staff_only
def contact_erase(contact_id: int):
    contact = _contact_or_404(contact_id)
    org_id = contact.organisation_id
    if ConfirmForm().validate_on_submit():
        services.erase_contact(db.session, g.tenant.id, contact)
        db.session.commit()
        flash("The person's data is erased; the contact is kept anonymously.", "success")
    return redirect(url_for("members.show", org_id=org_id, _anchor="contacts"))


@bp.route("/<tenant>/contacts/<int:contact_id>/export.json")
@staff_only
def contact_export(contact_id: int):
    contact = _contact_or_404(contact_id)
    data = services.contact_data(db.session, g.tenant.id, contact)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="contact-{contact.id}.json"'},
    )
