"""Alliance admins manage associations and their administrators, never tenant records."""

from flask import flash, render_template, url_for
from sqlalchemy import select

from crm.accounts import definer, services
from crm.accounts.access import ALLIANCE_ADMINS, roles_required
from crm.accounts.forms import TenantNewForm
from crm.accounts.views import invite
from crm.extensions import db
from crm.forms import render_form, saving
from crm.i18n import _
from crm.models import Tenant
from crm.tenancy import tenant_scope
from crm.tenants_admin import bp


@bp.route("/")
@roles_required(*ALLIANCE_ADMINS)
def index():
    # Counted past the wall: the alliance scope does not see associations' users.
    counts = definer.tenant_user_counts(db.session)
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.name, Tenant.id))
    rows = [(tenant, *counts.get(tenant.id, (0, 0))) for tenant in tenants]
    return render_template("tenants_admin/index.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ALLIANCE_ADMINS)
def tenant_new():
    form = TenantNewForm()
    if form.validate_on_submit():
        with saving(form, rename={"email": "admin_email"}) as saved:
            tenant = services.create_tenant(
                db.session, slug=form.slug.data, name=form.name.data, country=form.country.data
            )
            admin = services.create_user(
                db.session,
                email=form.admin_email.data,
                name=form.admin_name.data,
                role="tenant_admin",
                tenant_id=tenant.id,
            )
            token = services.issue_reset_token(db.session, admin, "invitation")
        if saved:
            with tenant_scope(tenant.id):  # the new admin is visible in their association only
                db.session.refresh(admin)
            flash(_("%(name)s is created.", name=tenant.name), "success")
            return invite(admin, token, back=url_for("tenants_admin.index"))
    return render_form("tenants_admin/new.html", form)
