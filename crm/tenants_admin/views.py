"""Alliance admins manage associations and their administrators, never tenant records."""

from flask import flash, render_template
from sqlalchemy import case, func, select

from crm.accounts import services
from crm.accounts.access import ALLIANCE_ADMINS, roles_required
from crm.accounts.forms import TenantNewForm
from crm.extensions import db
from crm.forms import render_form, saving
from crm.models import Tenant, User
from crm.tenants_admin import bp


@bp.route("/")
@roles_required(*ALLIANCE_ADMINS)
def index():
    active_admin = case((User.active & (User.role == "tenant_admin"), 1), else_=0)
    rows = db.session.execute(
        select(
            Tenant,
            func.count(User.id).label("users"),
            func.coalesce(func.sum(active_admin), 0).label("admins"),
        )
        .outerjoin(User, User.tenant_id == Tenant.id)
        .group_by(Tenant.id)
        .order_by(Tenant.name)
    ).all()
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
            token = services.issue_reset_token(db.session, admin)
        if saved:
            flash(f"{tenant.name} is created.", "success")
            link = services.reset_link(token)
            return render_template("accounts/reset_link.html", user=admin, link=link)
    return render_form("tenants_admin/new.html", form)
