"""Views of activities: add one from an organisation's or a contact's page (POST,
then back to the page's timeline), delete one."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from crm.activities import bp, services
from crm.activities.forms import ActivityForm
from crm.extensions import db
from crm.forms import render_form, saving
from crm.i18n import _
from crm.members import queries as members
from crm.members.access import contact_or_404, org_or_404, staff_only
from crm.members.forms import ConfirmForm
from crm.models import Activity


def _add(org, form: ActivityForm, contact_id, back: str, contact=None):
    if form.validate_on_submit():
        with saving(form) as saved:
            services.add_activity(
                db.session,
                g.tenant.id,
                org,
                kind=form.kind.data,
                subject=form.subject.data,
                body=form.body.data,
                occurred_at=form.occurred_at_utc(),
                contact_id=contact_id,
                author_id=current_user.id,
            )
        if saved:
            flash(f"{form.kind.data.title()} added to the timeline.", "success")
            return redirect(back)
    # Errors: the form again, alone, with each message beside its field (422).
    return render_form("activities/form.html", form, org=org, contact=contact, back=back)


@bp.route("/<tenant>/members/<int:org_id>/activities", methods=["POST"])
@staff_only
def add_to_organisation(org_id: int):
    org = org_or_404(org_id)
    form = ActivityForm()
    form.offer_contacts(members.contacts_of(org.id))
    back = url_for("members.show", org_id=org.id, _anchor="timeline")
    return _add(org, form, form.contact_id.data, back)


@bp.route("/<tenant>/contacts/<int:contact_id>/activities", methods=["POST"])
@staff_only
def add_to_contact(contact_id: int):
    contact = contact_or_404(contact_id)
    org = org_or_404(contact.organisation_id)
    form = ActivityForm()
    del form.contact_id  # the contact is the page's
    back = url_for("members.contact_show", contact_id=contact.id, _anchor="timeline")
    return _add(org, form, contact.id, back, contact=contact)


@bp.route("/<tenant>/activities/<int:activity_id>/delete", methods=["POST"])
@staff_only
def delete(activity_id: int):
    activity = (
        db.session.scalar(select(Activity).where(Activity.id == activity_id))
        if activity_id <= members.MAX_ID
        else None
    )
    if activity is None:
        abort(404)
    org_id, contact_id = activity.organisation_id, activity.contact_id
    if ConfirmForm().validate_on_submit():
        services.delete_activity(db.session, activity)
        db.session.commit()
        flash(_("The entry is deleted from the timeline."), "success")
    # Back to the page it was deleted from: the contact's, or the organisation's.
    if request.form.get("back") == "contact" and contact_id is not None:
        return redirect(url_for("members.contact_show", contact_id=contact_id, _anchor="timeline"))
    return redirect(url_for("members.show", org_id=org_id, _anchor="timeline"))
