from datetime import UTC, datetime, time, timedelta
from functools import partial

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from crm import choices, tenancy
from crm.accounts import audit_entries, bp, forgotten, services, throttle
from crm.accounts.access import TENANT_ADMINS, roles_required
from crm.accounts.forms import (
    AuditFilterForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    SetPasswordForm,
    UserEditForm,
    UserNewForm,
)
from crm.accounts.mail import Delivery, send_invitation
from crm.accounts.queries import audit_events, audit_filter_choices, tenant_users
from crm.accounts.redirects import safe_next
from crm.exports import download
from crm.extensions import db, login_manager
from crm.forms import render_form, saving
from crm.i18n import LANGUAGES, _, ngettext
from crm.mail.transport import MailError
from crm.models import AuditEvent, User
from crm.tenancy import client_ip


@login_manager.user_loader
def load_user(identity: str) -> User | None:
    """Identity is ``id:session_version:tenant`` (``User.get_id``): a password change
    ends older sessions; the tenant says in which scope the row is read (RLS)."""
    try:
        user_id, version, *named = identity.split(":")
        user_id, version = int(user_id), int(version)
        tenant = [int(named[0]) if named[0] else None] if named else []
    except ValueError:
        return None
    user = services.signed_in_user(db.session, user_id, *tenant)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email, address = form.email.data, client_ip()
        if wait := throttle.wait_seconds(email, address):
            services.record_throttled_login(db.session, email)
            db.session.commit()
            page = render_template("accounts/login.html", form=form, wait=wait)
            return page, 429, {"Retry-After": str(wait)}
        user = services.authenticate(db.session, email, form.password.data)
        db.session.commit()
        if user is None:
            throttle.record_failure(email, address)
            flash(_("Wrong e-mail or password, or the account is deactivated."), "error")
            return render_template("accounts/login.html", form=form), 401
        throttle.clear(email, address)
        session.clear()  # a fresh session at login: no fixation
        login_user(user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # The session cookie is signed, not stored: a copy taken before sign-out
    # would still be valid, so the user's session version moves on instead.
    tenancy.activate(db.session, tenancy.scope_of_user(current_user.tenant_id))
    services.end_sessions(db.session, current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # The change is logged in the user's own association.
        tenancy.activate(db.session, tenancy.scope_of_user(current_user.tenant_id))
        user = db.session.get(User, current_user.id)
        with saving(form) as saved:
            services.change_password(
                db.session, user, form.current_password.data, form.new_password.data
            )
        if saved:
            login_user(user)  # this session carries on with the new session version
            flash(_("Your password is changed; your other sessions are signed out."), "success")
            return redirect(url_for("core.home"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/language", methods=["POST"])
def choose_language():
    """The language switcher: kept on the user's account, or in the session
    before sign-in. Back to the page it was used on."""
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        abort(400)
    if current_user.is_authenticated:
        tenancy.activate(db.session, tenancy.scope_of_user(current_user.tenant_id))
        services.set_language(db.session, db.session.get(User, current_user.id), language)
        db.session.commit()
    else:
        session["language"] = language
    return redirect(safe_next(request.form.get("next")))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    """The same answer for every valid address: see ``crm.accounts.forgotten``."""
    form = ForgotPasswordForm()
    if form.is_submitted() and not forgotten.client_allowed(client_ip()):
        abort(429)
    if form.validate_on_submit():
        email = form.email.data.strip()
        response = make_response(render_template("accounts/forgot_sent.html"))
        if forgotten.address_allowed(email):
            forgotten.send_after_response(response, email)
        return response
    return render_form("accounts/forgot_password.html", form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = services.user_for_reset_token(db.session, token)
    if user is None:
        return render_template("accounts/reset_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        tenancy.activate(db.session, tenancy.scope_of_user(user.tenant_id))
        with saving(form) as saved:
            services.set_password(db.session, user, form.new_password.data)
        if saved:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash(_("Your password is set. Please sign in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, user=user)


# --- users of the association (tenant admins) -----------------------------


def get_tenant_user_or_404(user_id: int) -> User:
    """The user ``user_id`` of the current tenant, else 404.

    Users are not tenant-owned rows (login finds them by e-mail before any
    tenant is known), so the automatic tenant filter does not cover them:
    this helper is the one place the tenant filter is written by hand.
    """
    user = db.session.scalar(select(User).where(User.id == user_id, User.tenant_id == g.tenant.id))
    if user is None:
        abort(404)
    return user


def _user_form(form_class, obj=None):
    form = form_class(obj=obj)
    form.set_clusters(choices.clusters(keep=[obj.cluster_id] if obj is not None else None))
    return form


@bp.route("/<tenant>/users")
@roles_required(*TENANT_ADMINS)
def users():
    page = db.paginate(tenant_users(g.tenant.id), per_page=current_app.config["PAGE_SIZE"])
    clusters = dict(choices.clusters(keep=[user.cluster_id for user in page.items]))
    return render_template("accounts/users.html", page=page, clusters=clusters)


@bp.route("/<tenant>/users/new", methods=["GET", "POST"])
@roles_required(*TENANT_ADMINS)
def user_new():
    form = _user_form(UserNewForm)
    if form.validate_on_submit():
        with saving(form) as saved:
            user = services.create_user(
                db.session,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                tenant_id=g.tenant.id,
                cluster_id=form.cluster_id.data,
            )
            token = services.issue_reset_token(db.session, user, "invitation")
        if saved:
            flash(_("%(name)s is added.", name=user.name), "success")
            return invite(user, token, back=url_for("accounts.users"))
    return render_form("accounts/user_form.html", form, user=None)


@bp.route("/<tenant>/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(*TENANT_ADMINS)
def user_edit(user_id: int):
    user = get_tenant_user_or_404(user_id)
    form = _user_form(UserEditForm, obj=user)
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_user(
                db.session,
                user,
                name=form.name.data,
                role=form.role.data,
                cluster_id=form.cluster_id.data,
            )
        if saved:
            flash(_("%(name)s is updated.", name=user.name), "success")
            return redirect(url_for("accounts.users"))
    return render_form("accounts/user_form.html", form, user=user)


@bp.route("/<tenant>/users/<int:user_id>/deactivate", methods=["POST"])
@roles_required(*TENANT_ADMINS)
def user_deactivate(user_id: int):
    user = get_tenant_user_or_404(user_id)
    with saving() as saved:
        services.deactivate_user(db.session, user)
    if saved:
        flash(_("%(name)s is deactivated and signed out everywhere.", name=user.name), "success")
    return redirect(url_for("accounts.users"))


@bp.route("/<tenant>/users/<int:user_id>/reactivate", methods=["POST"])
@roles_required(*TENANT_ADMINS)
def user_reactivate(user_id: int):
    user = get_tenant_user_or_404(user_id)
    services.reactivate_user(db.session, user)
    db.session.commit()
    flash(_("%(name)s can sign in again.", name=user.name), "success")
    return redirect(url_for("accounts.users"))


@bp.route("/<tenant>/users/<int:user_id>/reset-link", methods=["POST"])
@roles_required(*TENANT_ADMINS)
def user_reset_link(user_id: int):
    user = get_tenant_user_or_404(user_id)
    if not user.active:
        flash(_("Reactivate the user before issuing a password link."), "error")
        return redirect(url_for("accounts.users"))
    token = services.issue_reset_token(db.session, user)
    db.session.commit()
    return _reset_link_page(user, token)


@bp.route("/<tenant>/users/<int:user_id>/invite", methods=["POST"])
@roles_required(*TENANT_ADMINS)
def user_invite(user_id: int):
    user = get_tenant_user_or_404(user_id)
    if not user.active:
        flash(_("Reactivate the user before inviting them again."), "error")
        return redirect(url_for("accounts.users"))
    token = services.issue_reset_token(db.session, user, "invitation")
    db.session.commit()
    return invite(user, token, back=url_for("accounts.users"))


def invite(user: User, token: str, back: str):
    """Mail ``user`` their invitation (committed), then go ``back``; show the link
    to hand over instead when it was not handed to an SMTP server."""
    link = services.reset_link(token)
    # The commit (or rollback) expires the row; it is read again in the user's
    # own scope, which is not the request's when the alliance office invites (RLS).
    scope = tenancy.scope_of_user(user.tenant_id)
    try:
        delivery = send_invitation(db.session, user, link)
        db.session.commit()
    except MailError as error:
        db.session.rollback()
        delivery = None
        flash(_("The invitation could not be sent: %(reply)s", reply=error.reply), "error")
    with tenancy.tenant_scope(scope):
        db.session.refresh(user)
    if delivery is Delivery.SENT:
        flash(
            _("An invitation to set a password was sent to %(email)s.", email=user.email), "success"
        )
        return redirect(back)
    if delivery is Delivery.OUTBOX:
        flash(_("No mail server is set up: the invitation is in the outbox."), "info")
    return _reset_link_page(user, token, kind="invitation")


def _reset_link_page(user: User, token: str, kind: str = "reset"):
    link = services.reset_link(token)
    hours = services.link_max_age(kind) // 3600
    if hours % 24 == 0 and hours > 24:
        valid_for = ngettext("%(num)s day", "%(num)s days", hours // 24)
    else:
        valid_for = ngettext("%(num)s hour", "%(num)s hours", hours)
    return render_template("accounts/reset_link.html", user=user, link=link, valid_for=valid_for)


@bp.route("/<tenant>/audit")
@roles_required(*TENANT_ADMINS)
def audit_log():
    form = AuditFilterForm(request.args)
    actions, entity_types, people = audit_filter_choices(g.tenant.id)
    form.action.choices = _choices(_("any"), [(a, a.replace("_", " ")) for a in actions])
    types = [(e, audit_entries.RECORD_TYPES.get(e, e.replace("_", " "))) for e in entity_types]
    form.entity_type.choices = _choices(_("any"), types)
    form.user.choices = _choices(_("anyone"), [(u.id, u.email) for u in people], blank=None)
    filters = {}
    if form.validate():
        filters = {
            "action": form.action.data or None,
            "entity_type": form.entity_type.data or None,
            "user_id": form.user.data,
            "since": _start_of(form.date_from.data),
            "before": _start_of(form.date_to.data, days=1),
        }
    query = audit_events(g.tenant.id, **filters)
    if request.args.get("format") == "csv":
        return _audit_csv(query)
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"])
    # Labels, record names and authors: one query per table named on the page.
    entries = audit_entries.entries(page.items)
    return render_template("accounts/audit_log.html", form=form, page=page, entries=entries)


def _choices(any_label: str, pairs, blank="") -> list[SelectChoice]:
    return [SelectChoice(blank, any_label), *(SelectChoice(v, label) for v, label in pairs)]


def _start_of(day, days: int = 0):
    return datetime.combine(day, time.min, UTC) + timedelta(days=days) if day else None


def _audit_csv(query):
    """The filtered log as CSV in one query: who did it by an outer join on
    users (by id, so an alliance admin's events name them too), plain tuples,
    streamed as they come."""
    headers = [
        _("when"),
        _("action"),
        _("record type"),
        _("record id"),
        _("by"),
        _("summary"),
        _("changes"),
        _("ip"),
    ]
    return download("csv", f"audit-{g.tenant.slug}", headers, partial(_audit_rows, query))


def _audit_rows(query):
    rows = db.session.execute(
        query.with_only_columns(
            AuditEvent.created_at,
            AuditEvent.action,
            AuditEvent.entity_type,
            AuditEvent.entity_id,
            func.coalesce(User.email, ""),
            AuditEvent.summary,
            AuditEvent.changes,
            AuditEvent.ip,
        )
        .outerjoin(User, User.id == AuditEvent.user_id)
        .limit(100_000)
        .execution_options(yield_per=2000)
    )
    return ([*row[:6], row[6] and str(row[6]), row[7]] for row in rows)
