"""The mail area's pages: the public unsubscribe page, and for association
admins the outbox reader and the sender settings.

The blueprint lives here rather than in ``crm/mail/__init__.py`` because the
package is also the library every area sends through (``crm.mail.transport``);
importing it must not import the views.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from crm.accounts.access import TENANT_ADMINS, roles_required
from crm.extensions import csrf, db
from crm.forms import render_form, saving
from crm.i18n import _
from crm.mail import queries, services
from crm.mail.forms import ActionForm, OutboxSearchForm, SenderForm
from crm.mail.transport import MailError
from crm.mail.unsubscribe import read as read_token
from crm.models import Contact, Tenant
from crm.models.mail import PURPOSES
from crm.tenancy import tenant_scope

bp = Blueprint("mail", __name__)


# -- unsubscribe (public) -------------------------------------------------------


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """GET shows what the link would stop; POST stops it. POST is also RFC 8058's
    one-click unsubscribe, which a mail client sends with the body
    ``List-Unsubscribe=One-Click`` and no session or form of ours: so this route
    carries no CSRF token. Nothing is lost by that: the signed token is itself
    the secret, a forged request must already hold it, and all it can do is
    stop mail to the one contact it names."""
    said = read_token(token)
    if said is None:
        return _unsubscribe_page("invalid", 400)
    tenant_id, contact_id, purpose = said
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        return _unsubscribe_page("unknown", 404)
    with tenant_scope(tenant_id):  # the token names the association: its rows only
        contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
        if contact is None:
            return _unsubscribe_page("unknown", 404, tenant=tenant)
        if contact.erased_at is not None:
            return _unsubscribe_page("erased", 410, tenant=tenant)
        if request.method == "POST":
            services.refuse_by_link(db.session, tenant_id, contact, purpose)
            db.session.commit()
            return _unsubscribe_page("done", 200, tenant=tenant, contact=contact, purpose=purpose)
        return _unsubscribe_page("confirm", 200, tenant=tenant, contact=contact, purpose=purpose)


def _unsubscribe_page(state: str, status: int, **context):
    page = render_template("mail/unsubscribe.html", state=state, purposes=PURPOSES, **context)
    # The token is in the address: no Referer carries it off, no cache keeps it.
    return page, status, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


# -- outbox reader (association admins) -----------------------------------------


@bp.route("/<tenant>/outbox")
@roles_required(*TENANT_ADMINS)
def outbox():
    form = OutboxSearchForm(request.args)
    search = form.q.data.strip() if form.validate() and form.q.data else None
    page = db.paginate(queries.outbox(search), per_page=current_app.config["PAGE_SIZE"])
    return render_template("mail/outbox.html", form=form, page=page, search=search)


@bp.route("/<tenant>/outbox/<int:message_id>")
@roles_required(*TENANT_ADMINS)
def outbox_message(message_id: int):
    message = queries.outbox_message(message_id)
    if message is None:
        abort(404)
    return render_template("mail/outbox_message.html", message=message)


# -- sender settings (association admins) ---------------------------------------


@bp.route("/<tenant>/mail/settings", methods=["GET", "POST"])
@roles_required(*TENANT_ADMINS)
def settings():
    form = SenderForm(obj=g.tenant)
    if form.validate_on_submit():
        with saving(form) as saved:
            services.set_sender(db.session, g.tenant, form.mail_from.data)
        if saved:
            flash(_("The sender address is saved."), "success")
            return redirect(url_for("mail.settings"))
    return render_form("mail/settings.html", form, test_form=ActionForm())


@bp.route("/<tenant>/mail/settings/test", methods=["POST"])
@roles_required(*TENANT_ADMINS)
def send_test():
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.send_test_message(db.session, g.tenant, current_user.email)
        db.session.commit()
    except MailError as error:
        db.session.rollback()
        flash(_("The test message could not be sent: %(reply)s", reply=error.reply), "error")
        return redirect(url_for("mail.settings"))
    if current_app.config.get("SMTP_URL"):
        flash(_("A test message was sent to %(email)s.", email=current_user.email), "success")
    else:
        flash(_("No mail server is set up: the test message is in the outbox."), "info")
    return redirect(url_for("mail.settings"))
