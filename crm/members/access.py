"""Who may open the members area's pages, and its objects loaded or 404: shared
with the areas whose pages hang off an organisation or contact (renewals,
activities)."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import login_required
from sqlalchemy import select

from crm.accounts.access import STAFF, roles_required
from crm.extensions import db
from crm.members import queries
from crm.models import Contact, Organisation


def staff_only(view):
    """Signed in as the association's secretariat or admin (others: 404, nothing leaks)."""
    return login_required(roles_required(*STAFF)(view))


def org_or_404(org_id: int) -> Organisation:
    org = queries.organisation_or_none(org_id) if org_id <= queries.MAX_ID else None
    if org is None:
        abort(404)
    if org.merged_into_id is not None:
        # A merged duplicate (crm.merge): its links lead to the survivor.
        args = {**(request.view_args or {}), "org_id": org.merged_into_id}
        endpoint = request.endpoint if request.method == "GET" else "members.show"
        abort(redirect(url_for(endpoint, **{k: v for k, v in args.items() if k != "tenant"})))
    return org


def contact_or_404(contact_id: int) -> Contact:
    if contact_id > queries.MAX_ID:
        abort(404)
    contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
    if contact is None:
        abort(404)
    return contact
