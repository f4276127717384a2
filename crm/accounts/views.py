from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from crm.accounts import bp
from crm.accounts.forms import LoginForm
from crm.accounts.services import authenticate
from crm.extensions import db, login_manager
from crm.models import User


@login_manager.user_loader
def load_user(identity: str) -> User | None:
    """Identity is ``id:session_version``: a password change ends older sessions."""
    try:
        user_id, version = (int(part) for part in identity.split(":"))
    except ValueError:
        return None
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths; "//host" and "/\\host" would leave the site.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        db.session.commit()
        if user is None:
            flash("Wrong e-mail or password, or the account is deactivated.", "error")
            return render_template("accounts/login.html", form=form), 401
        session.clear()  # a fresh session at login: no fixation
        login_user(user, remember=form.remember.data)
        return redirect(_safe_next(request.args.get("next")) or url_for("core.home"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"))
