"""Tags: manage them (list, create, rename, delete), and put them on or take them
off one organisation or contact. Staff only; every change is audited."""

from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_login import login_required
from sqlalchemy import select

from crm.accounts.access import STAFF, roles_required
from crm.extensions import db
from crm.forms import render_form, saving
from crm.i18n import _
from crm.members import queries as members
from crm.members.forms import ConfirmForm
from crm.models import Contact
from crm.tags import bp, queries, services
from crm.tags.forms import TagForm
from crm.validation import MAX_ID


def staff_only(view):
    return login_required(roles_required(*STAFF)(view))


def _tag_or_404(tag_id: int):
    tag = queries.tag_or_none(tag_id) if tag_id <= MAX_ID else None
    if tag is None:
        abort(404)
    return tag


def _org_or_404(org_id: int):
    org = members.organisation_or_none(org_id) if org_id <= MAX_ID else None
    if org is None:
        abort(404)
    return org


def _contact_or_404(contact_id: int) -> Contact:
    contact = (
        db.session.scalar(select(Contact).where(Contact.id == contact_id))
        if contact_id <= MAX_ID
        else None
    )
    if contact is None or contact.erased_at is not None:
        abort(404)
    return contact


@bp.app_context_processor
def chips():
    """The tag chips of the organisation page (one statement each, when shown)."""
    return {
        "organisation_chips": lambda org_id: queries.organisation_chips(g.tenant.id, org_id),
        "contact_chips": lambda ids: queries.contact_chips(g.tenant.id, ids),
        "tag_form": TagForm,
    }


@bp.route("/<tenant>/tags", methods=["GET", "POST"])
@staff_only
def index():
    form = TagForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            tag = services.create_tag(db.session, g.tenant.id, form.name.data)
        if saved:
            flash(_("The tag “%(name)s” is created.", name=tag.name), "success")
            return redirect(url_for("tags.index"))
    return render_form(
        "tags/index.html", form, tags=queries.tags_with_counts(g.tenant.id), confirm=ConfirmForm()
    )


@bp.route("/<tenant>/tags/<int:tag_id>/edit", methods=["GET", "POST"])
@staff_only
def edit(tag_id: int):
    tag = _tag_or_404(tag_id)
    form = TagForm(obj=tag)
    if form.validate_on_submit():
        with saving(form) as saved:
            services.rename_tag(db.session, tag, form.name.data)
        if saved:
            flash(_("The tag is renamed “%(name)s”.", name=tag.name), "success")
            return redirect(url_for("tags.index"))
    return render_form("tags/edit.html", form, tag=tag)


@bp.route("/<tenant>/tags/<int:tag_id>/delete", methods=["POST"])
@staff_only
def delete(tag_id: int):
    tag = _tag_or_404(tag_id)
    if ConfirmForm().validate_on_submit():
        name = tag.name
        services.delete_tag(db.session, tag)
        db.session.commit()
        flash(_("The tag “%(name)s” is deleted and taken off every record.", name=name), "success")
    return redirect(url_for("tags.index"))


def _add(kind: str, row, back: str):
    """Tag one record by name (a new name makes a new tag); errors re-render the form."""
    form = TagForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            tag = services.tag_named(db.session, g.tenant.id, form.name.data)
            services.tag_rows(
                db.session, g.tenant.id, tag, kind, services.ids_of(g.tenant.id, kind, [row.id])
            )
        if saved:
            flash(_("Tagged “%(name)s”.", name=tag.name), "success")
            return redirect(back)
    return render_form("tags/add.html", form, row=row, back=back)


def _remove(kind: str, row, tag_id: int, back: str):
    tag = _tag_or_404(tag_id)
    if ConfirmForm().validate_on_submit():
        services.untag_rows(
            db.session, g.tenant.id, tag, kind, services.ids_of(g.tenant.id, kind, [row.id])
        )
        db.session.commit()
        flash(_("The tag “%(name)s” is removed.", name=tag.name), "success")
    return redirect(back)


@bp.route("/<tenant>/members/<int:org_id>/tags", methods=["GET", "POST"])
@staff_only
def organisation_add(org_id: int):
    org = _org_or_404(org_id)
    return _add("organisations", org, url_for("members.show", org_id=org.id, _anchor="tags"))


@bp.route("/<tenant>/members/<int:org_id>/tags/<int:tag_id>/remove", methods=["POST"])
@staff_only
def organisation_remove(org_id: int, tag_id: int):
    org = _org_or_404(org_id)
    back = url_for("members.show", org_id=org.id, _anchor="tags")
    return _remove("organisations", org, tag_id, back)


@bp.route("/<tenant>/contacts/<int:contact_id>/tags", methods=["GET", "POST"])
@staff_only
def contact_add(contact_id: int):
    contact = _contact_or_404(contact_id)
    back = url_for("members.show", org_id=contact.organisation_id, _anchor="contacts")
    return _add("contacts", contact, back)


@bp.route("/<tenant>/contacts/<int:contact_id>/tags/<int:tag_id>/remove", methods=["POST"])
@staff_only
def contact_remove(contact_id: int, tag_id: int):
    contact = _contact_or_404(contact_id)
    back = url_for("members.show", org_id=contact.organisation_id, _anchor="contacts")
    return _remove("contacts", contact, tag_id, back)
