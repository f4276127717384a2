"""Views of the members area: load, check access, call a service, commit once, answer."""

from __future__ import annotations

import json
from datetime import date
from functools import partial

from flask import (
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from crm import choices, regions
from crm.activities import timeline
from crm.activities.forms import ActivityForm
from crm.downloads.exports import export_response
from crm.duplicates import queries as duplicate_queries
from crm.extensions import db
from crm.forms import render_form, saving
from crm.i18n import _
from crm.mail import consent as mail_consent
from crm.members import bp, new_member, queries, services
from crm.members.access import contact_or_404 as _contact_or_404
from crm.members.access import org_or_404 as _org_or_404
from crm.members.access import staff_only
from crm.members.forms import (
    ConfirmForm,
    ContactForm,
    NewMemberForm,
    OrganisationForm,
    StatusForm,
    TermsForm,
)
from crm.models.mail import CONSENT_SOURCES as MAIL_CONSENT_SOURCES
from crm.models.mail import PURPOSES
from crm.renewals import queries as renewals


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
        "CONTACT_ROLES": choices.CONTACT_ROLES,
        "RENEWAL_LISTS": queries.RENEWAL_LISTS,
    }


# -- dashboard and directory ----------------------------------------------


@bp.route("/<tenant>/dashboard")
@staff_only
def dashboard():
    today = date.today()
    figures = queries.dashboard_figures(g.tenant.id, today)
    return render_template("members/dashboard.html", figures=figures, today=today)


@bp.route("/<tenant>/members")
@staff_only
def directory():
    filters = queries.DirectoryFilters.from_args(request.args, current_app.config["PAGE_SIZE"])
    page = queries.directory_page(filters)
    typed_region = (request.args.get("region") or "").strip()[:100]
    return render_template(
        "members/directory.html",
        filters=filters,
        page=page,
        choices={"ecosystems": choices.ecosystems(), "clusters": choices.clusters()},
        sorts={key: label for key, (label, _order) in queries.SORTS.items()},
        relations=queries.RELATIONS,
        identifier_filters={k: label for k, (label, *_rest) in queries.IDENTIFIER_FILTERS.items()},
        region_choices=regions.region_choices(regions.association_country()),
        # A region named in the address that no region has: say so, not "no members".
        region_unknown=typed_region if not filters.region else "",
    )


@bp.route("/<tenant>/members/suggestions")
@staff_only
def suggestions():
    """The directory search box's suggestions as JSON (``static/js/suggest.js``)."""
    q = (request.args.get("q") or "").strip()
    if not q or len(q) > queries.MAX_SEARCH:
        return jsonify(error=f"q must be 1 to {queries.MAX_SEARCH} characters"), 400
    rows, closest = queries.suggestions(q)
    return jsonify(
        closest=closest,
        suggestions=[
            {
                "id": r.id,
                "name": r.name,
                "city": r.city,
                "url": url_for("members.show", org_id=r.id),
            }
            for r in rows
        ],
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
    """The new-member form: organisation, address, first membership and primary
    contact on one page, with the duplicate warning (crm.members.new_member)."""
    form = NewMemberForm()
    form.fill_choices()
    if request.method == "GET" and not form.country.data:
        form.country.data = g.tenant.country
    duplicates = []
    if form.validate_on_submit():
        duplicates = duplicate_queries.candidates(form.organisation_data())
        if duplicates and not form.save_anyway.data:
            form.save_anyway.errors = [
                _(
                    "This may already be recorded: open one of the organisations below, "
                    "or tick this box to save anyway."
                )
            ]
        else:
            with saving(form) as saved:
                org = new_member.register_member(
                    db.session,
                    g.tenant.id,
                    form.organisation_data(),
                    form.membership_data(),
                    form.contact_data(),
                    ecosystem_ids=form.ecosystem_ids.data,
                    cluster_ids=form.cluster_ids.data,
                    user_id=current_user.id,
                )
            if saved:
                return _to_organisation(org.id, _("%(name)s is added.", name=org.name))
    return render_form("members/new.html", form, duplicates=duplicates)


@bp.route("/<tenant>/members/<int:org_id>")
@staff_only
def show(org_id: int):
    org = _org_or_404(org_id)
    membership = None if org.is_external else queries.membership_of(org.id)
    merged = queries.merged_into(org.id)
    contacts = queries.contacts_of(org.id)
    activity_form = ActivityForm(formdata=None)
    activity_form.offer_contacts(contacts)
    payments, payment_total = renewals.payments_of(membership.id) if membership else ([], 0)
    return render_template(
        "members/show.html",
        org=org,
        membership=membership,
        history=queries.status_history(membership.id) if membership else [],
        payments=payments,
        payment_total=payment_total,
        timeline=timeline.organisation_timeline(org.id, timeline.shown(request.args)),
        activity_form=activity_form,
        clusters=queries.clusters_of(org.id),
        cluster=(
            queries.cluster_summary(org.id)
            if org.kind == "cluster" and not org.is_external
            else None
        ),
        contacts=contacts,
        mail_consents=mail_consent.of_contacts(db.session, [c.id for c in contacts]),
        purposes=PURPOSES,
        consent_sources=MAIL_CONSENT_SOURCES,
        participations=queries.participations_of(org.id),
        audit=queries.audit_history(g.tenant.id, "organisations", org.id, [m.id for m in merged]),
        merged=merged,
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
            return _to_organisation(org.id, _("%(name)s is saved.", name=org.name))
    return render_form("members/form.html", form, org=org)


@bp.route("/<tenant>/members/<int:org_id>/archive", methods=["POST"])
@staff_only
def archive(org_id: int):
    org = _org_or_404(org_id)
    if ConfirmForm().validate_on_submit():
        if org.archived:
            services.restore_organisation(db.session, org)
            flash(_("%(name)s is back in the directory.", name=org.name), "success")
        else:
            services.archive_organisation(db.session, org)
            flash(
                _("%(name)s is archived: it no longer shows in lists and figures.", name=org.name),
                "success",
            )
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
            return _to_organisation(
                org.id, _("%(name)s: membership is now %(status)s.", name=org.name, status=status)
            )
    return render_form("members/status.html", form, org=org, membership=membership)


@bp.route("/<tenant>/members/<int:org_id>/terms", methods=["GET", "POST"])
@staff_only
def edit_terms(org_id: int):
    org = _org_or_404(org_id)
    membership = queries.membership_of(org.id)
    if membership is None:
        flash(_("Record a membership status first; fee and payment follow."), "warning")
        return redirect(url_for("members.change_status", org_id=org.id))
    form = TermsForm(obj=membership)
    if form.validate_on_submit():
        with saving(form, editing=membership) as saved:
            services.set_membership_terms(
                db.session,
                membership,
                form.fee_tier.data,
                form.paid_until.data,
                fee_amount=form.fee_amount.data,
                fee_currency=form.fee_currency.data,
                period_months=form.period_months.data,
                version=form.version.data,
            )
        if saved:
            return _to_organisation(org.id, _("The membership terms are saved."))
    return render_form("members/terms.html", form, org=org, membership=membership)


# -- contacts -------------------------------------------------------------------


@bp.route("/<tenant>/members/<int:org_id>/contacts/new", methods=["GET", "POST"])
@staff_only
def contact_new(org_id: int):
    org = _org_or_404(org_id)
    form = ContactForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            contact = services.create_contact(db.session, g.tenant.id, org, form.contact_data())
            services.set_mail_consents(db.session, g.tenant.id, contact, form.mail_consents())
        if saved:
            name = f"{form.first_name.data} {form.last_name.data}"
            return _to_organisation(org.id, _("%(name)s is added.", name=name), "contacts")
    return render_form("members/contact_form.html", form, org=org, contact=None)


@bp.route("/<tenant>/contacts/<int:contact_id>")
@staff_only
def contact_show(contact_id: int):
    contact = _contact_or_404(contact_id)
    org = _org_or_404(contact.organisation_id)
    activity_form = ActivityForm(formdata=None)
    del activity_form.contact_id  # the contact is this page's
    return render_template(
        "members/contact.html",
        contact=contact,
        org=org,
        timeline=timeline.contact_timeline(contact.id, timeline.shown(request.args)),
        activity_form=activity_form,
        confirm=ConfirmForm(),
    )


@bp.route("/<tenant>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@staff_only
def contact_edit(contact_id: int):
    contact = _contact_or_404(contact_id)
    org = _org_or_404(contact.organisation_id)
    if contact.erased_at is not None:
        flash(_("This contact was erased and cannot be edited."), "warning")
        return redirect(url_for("members.show", org_id=org.id, _anchor="contacts"))
    form = ContactForm(obj=contact)
    said = mail_consent.of_contacts(db.session, [contact.id])[contact.id]
    form.show_mail_consents(said, fill=not form.is_submitted())
    if form.validate_on_submit():
        with saving(form, editing=contact) as saved:
            services.update_contact(
                db.session, contact, form.contact_data(), version=form.version.data
            )
            services.set_mail_consents(db.session, g.tenant.id, contact, form.mail_consents())
        if saved:
            return _to_organisation(
                org.id, _("%(name)s is saved.", name=contact.full_name), "contacts"
            )
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
        flash(_("%(name)s is deleted.", name=name), "success")
    return redirect(url_for("members.show", org_id=org_id, _anchor="contacts"))


@bp.route("/<tenant>/contacts/<int:contact_id>/erase", methods=["POST"])
@staff_only
def contact_erase(contact_id: int):
    contact = _contact_or_404(contact_id)
    org_id = contact.organisation_id
    if ConfirmForm().validate_on_submit():
        services.erase_contact(db.session, g.tenant.id, contact)
        db.session.commit()
        flash(_("The person's data is erased; the contact is kept anonymously."), "success")
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
