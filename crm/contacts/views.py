"""The contacts list and its export. Staff see the association's contacts; a
cluster manager sees those of their cluster and its current members only."""

from __future__ import annotations

from datetime import date
from functools import partial

from flask import abort, current_app, g, render_template, request
from flask_login import current_user, login_required

from crm import choices
from crm.accounts.access import STAFF, TENANT_ROLES, has_role, roles_required
from crm.contacts import bp, queries
from crm.downloads.exports import export_response
from crm.exports import download, headers


def _cluster_scope() -> int | None:
    """None for staff (every contact); a cluster manager's cluster id (404 without one)."""
    if has_role(STAFF):
        return None
    if current_user.cluster_id is None:
        abort(404)
    return current_user.cluster_id


@bp.route("/<tenant>/contacts")
@login_required
@roles_required(*TENANT_ROLES)
def index():
    cluster_id = _cluster_scope()
    filters = queries.ContactFilters.from_args(request.args, current_app.config["PAGE_SIZE"])
    page = queries.contacts_page(filters, cluster_id)
    return render_template(
        "contacts/index.html",
        filters=filters,
        page=page,
        sorts=queries.SORTS,
        choices={
            "ecosystems": choices.ecosystems(),
            "tags": choices.tags(),
            "clusters": choices.clusters() if cluster_id is None else [],
        },
        roles=choices.CONTACT_ROLES,
        staff=cluster_id is None,
    )


@bp.route("/<tenant>/contacts/export.<any(csv, xlsx):fmt>")
@login_required
@roles_required(*TENANT_ROLES)
def export(fmt: str):
    cluster_id = _cluster_scope()
    filters = queries.ContactFilters.from_args(request.args)
    filename = f"contacts-{g.tenant.slug}-{date.today()}"
    if cluster_id is not None:
        # A cluster's contacts are a few hundred at most: built here, never by the
        # background export, whose job re-reads the filters without the user's scope.
        rows = partial(queries.export_rows, filters, cluster_id)
        return download(fmt, filename, headers(queries.EXPORT), rows)
    return export_response(
        "contacts",
        fmt,
        filename,
        partial(queries.count, filters),
        partial(queries.export_rows, filters),
    )
