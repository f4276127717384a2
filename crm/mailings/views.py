"""Views of mailings: load, check access, call a service, commit once, answer.

Mailings belong to the association's staff (secretariat and admins); the
renewal reminder settings to its admins. Another association's mailing is a 404.
"""

from __future__ import annotations

from functools import partial

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.accounts.access import STAFF, TENANT_ADMINS, roles_required
from crm.exports import download
from crm.extensions import db
from crm.formats import datetime as format_datetime
from crm.formats import number
from crm.forms import render_form, saving
from crm.i18n import _, ngettext
from crm.jobs import ACTIVE, Unavailable, settled
from crm.mail.transport import MailError
from crm.mailings import audience, bp, merge, queries, reminders, services
from crm.mailings.forms import ActionForm, MailingForm, ReminderSettingsForm, ScheduleForm
from crm.models import JobRun
from crm.models.mail import PURPOSES
from crm.models.mailing import MAILING_STATUSES, RECIPIENT_STATUSES
from crm.validation import MAX_ID


def staff_only(view):
    return login_required(roles_required(*STAFF)(view))


def _mailing_or_404(mailing_id: int):
    mailing = queries.mailing_or_none(mailing_id) if mailing_id <= MAX_ID else None
    if mailing is None:
        abort(404)
    return mailing


def _fields(form: MailingForm) -> services.MailingFields:
    return services.MailingFields(
        name=form.name.data,
        purpose=form.purpose.data,
        subject=form.subject.data,
        body=form.body.data,
    )


def _page_number() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)


@bp.route("/<tenant>/mailings")
@staff_only
def index():
    return render_template(
        "mailings/index.html",
        page=queries.mailing_list(_page_number()),
        statuses=MAILING_STATUSES,
    )


@bp.route("/<tenant>/mailings/new", methods=["GET", "POST"])
@staff_only
def new():
    """Write a mailing to the audience in the query string: the directory's
    filters, as its "Mail these" link passes them."""
    chosen = audience.from_args(request.args)
    form = MailingForm()
    if request.method == "GET":
        # The merge fields ({{ ... }}) stay as they are in every language.
        form.subject.data = _("News from {{ association }}")
        form.body.data = _(
            "Dear {{ contact.first_name }},\n\n\n\nKind regards,\n{{ association }}\n"
        )
    if form.validate_on_submit():
        with saving(form) as saved:
            mailing = services.create_mailing(
                db.session, g.tenant, _fields(form), chosen, current_user.id
            )
        if saved:
            flash(_("The mailing is saved as a draft. Check the preview, then send it."), "success")
            return redirect(url_for("mailings.show", mailing_id=mailing.id))
    purpose = form.purpose.data if form.purpose.data in PURPOSES else "membership"
    return render_form(
        "mailings/form.html",
        form,
        mailing=None,
        audience_text=audience.describe(chosen),
        summary=audience.summary(chosen, purpose),
        purpose=purpose,
        purposes=PURPOSES,
        fields=merge.FIELDS,
    )


@bp.route("/<tenant>/mailings/<int:mailing_id>/edit", methods=["GET", "POST"])
@staff_only
def edit(mailing_id: int):
    mailing = _mailing_or_404(mailing_id)
    if mailing.status not in services.EDITABLE:
        flash(
            _(
                "This mailing is %(status)s: it can no longer be changed.",
                status=services.status_name(mailing.status),
            ),
            "error",
        )
        return redirect(url_for("mailings.show", mailing_id=mailing.id))
    form = MailingForm(obj=mailing)
    if form.validate_on_submit():
        with saving(form, editing=mailing) as saved:
            services.update_mailing(
                db.session, g.tenant, mailing, _fields(form), version=form.version.data
            )
        if saved:
            flash(_("The mailing is saved."), "success")
            return redirect(url_for("mailings.show", mailing_id=mailing.id))
    return render_form(
        "mailings/form.html",
        form,
        mailing=mailing,
        audience_text=audience.describe(mailing.audience),
        summary=audience.summary(mailing.audience, mailing.purpose),
        purpose=mailing.purpose,
        purposes=PURPOSES,
        fields=merge.FIELDS,
    )


def _run_of(mailing) -> JobRun | None:
    return settled(db.session.get(JobRun, mailing.run_id)) if mailing.run_id else None


@bp.route("/<tenant>/mailings/<int:mailing_id>")
@staff_only
def show(mailing_id: int, schedule_form: ScheduleForm | None = None, status: int = 200):
    mailing = _mailing_or_404(mailing_id)
    shown = request.args.get("status", "")
    shown = shown if shown in RECIPIENT_STATUSES else ""
    drafting = mailing.status in services.EDITABLE
    sample = queries.sample_recipient(mailing) if drafting else None
    try:
        preview, preview_error = services.preview(mailing, g.tenant, sample), None
    except merge.MergeError as error:  # a template saved before a rule changed
        preview, preview_error = None, str(error)
    return render_template(
        "mailings/show.html",
        mailing=mailing,
        summary=audience.summary(mailing.audience, mailing.purpose)
        if drafting and mailing.kind == "mailing"
        else None,
        audience_text=audience.describe(mailing.audience),
        preview=preview,
        preview_error=preview_error,
        sample=sample,
        counts=queries.status_counts(mailing.id),
        recipients=queries.recipient_page(mailing.id, shown, _page_number()),
        shown=shown,
        run=_run_of(mailing),
        statuses=MAILING_STATUSES,
        recipient_statuses=RECIPIENT_STATUSES,
        purposes=PURPOSES,
        purpose=mailing.purpose,
        action_form=ActionForm(),
        schedule_form=schedule_form or ScheduleForm(),
    ), status


@bp.route("/<tenant>/mailings/<int:mailing_id>/status")
@staff_only
def progress(mailing_id: int):
    mailing = _mailing_or_404(mailing_id)
    run = _run_of(mailing)
    return jsonify(
        status=run.status if run else mailing.status,
        progress=run.progress if run else (100 if mailing.status == "sent" else 0),
        message=run.message if run else None,
        counts=queries.status_counts(mailing.id),
    )


def _action() -> bool:
    """A POSTed action's CSRF check."""
    return ActionForm().validate_on_submit()


def _back(mailing, message: str, category: str = "success"):
    flash(message, category)
    return redirect(url_for("mailings.show", mailing_id=mailing.id))


@bp.route("/<tenant>/mailings/<int:mailing_id>/test", methods=["POST"])
@staff_only
def test(mailing_id: int):
    mailing = _mailing_or_404(mailing_id)
    if not _action():
        abort(400)
    try:
        address = services.send_test(db.session, g.tenant, mailing, current_user)
    except MailError as error:
        db.session.rollback()
        return _back(
            mailing, _("The test message was not sent: %(reply)s", reply=error.reply), "error"
        )
    except merge.MergeError as error:
        db.session.rollback()
        return _back(mailing, str(error), "error")
    db.session.commit()
    return _back(mailing, _("A test message went to %(address)s.", address=address))


@bp.route("/<tenant>/mailings/<int:mailing_id>/send", methods=["POST"])
@staff_only
def send(mailing_id: int):
    mailing = _mailing_or_404(mailing_id)
    if not _action():
        abort(400)
    if mailing.status == "sending":
        # Resume a run that died: safe, as a sender never sends a recipient twice.
        run = _run_of(mailing)
        if run is not None and run.status in ACTIVE:
            return _back(
                mailing, _("This mailing is being sent; its progress is shown below."), "info"
            )
    else:
        with saving() as saved:
            services.send_now(db.session, mailing)
        if not saved:
            return _back(
                mailing,
                _(
                    "This mailing is %(status)s: it is not sent again.",
                    status=services.status_name(mailing.status),
                ),
                "error",
            )
    try:
        services.start_sending(db.session, mailing, current_user.id)
    except Unavailable as unavailable:
        return _back(mailing, str(unavailable), "error")
    return _back(mailing, _("Sending started; the progress is shown below."))


@bp.route("/<tenant>/mailings/<int:mailing_id>/schedule", methods=["POST"])
@staff_only
def schedule(mailing_id: int):
    mailing = _mailing_or_404(mailing_id)
    form = ScheduleForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            services.schedule(db.session, mailing, form.when.data)
        if saved:
            when = format_datetime(form.when.data)
            return _back(mailing, _("The mailing will be sent at %(when)s.", when=when))
    return show(mailing_id, schedule_form=form, status=422)


@bp.route("/<tenant>/mailings/<int:mailing_id>/cancel", methods=["POST"])
@staff_only
def cancel(mailing_id: int):
    mailing = _mailing_or_404(mailing_id)
    if not _action():
        abort(400)
    skipped = 0
    with saving() as saved:
        skipped = services.cancel(db.session, mailing)
    if not saved:
        return _back(
            mailing,
            _(
                "This mailing is %(status)s: nothing to cancel.",
                status=services.status_name(mailing.status),
            ),
            "error",
        )
    return _back(
        mailing,
        ngettext(
            "The mailing is cancelled; %(count)s recipient will not get it.",
            "The mailing is cancelled; %(count)s recipients will not get it.",
            skipped,
            count=number(skipped),
        ),
    )


@bp.route("/<tenant>/mailings/<int:mailing_id>/recipients.<any(csv, xlsx):fmt>")
@staff_only
def export_recipients(mailing_id: int, fmt: str):
    mailing = _mailing_or_404(mailing_id)
    return download(
        fmt,
        f"mailing-{mailing.id}-recipients",
        [str(header) for header in queries.RECIPIENT_EXPORT_HEADERS],
        partial(queries.recipient_export_rows, mailing.id),
    )


@bp.route("/<tenant>/mailings/reminders", methods=["GET", "POST"])
@login_required
@roles_required(*TENANT_ADMINS)
def reminder_settings():
    saved_settings = reminders.settings_of(db.session, g.tenant.id)
    current = saved_settings or reminders.default_settings(g.tenant.id)
    form = ReminderSettingsForm(obj=current)
    if request.method == "GET":
        form.days_before.data = ", ".join(str(-s) for s in sorted(current.steps) if s < 0)
        form.days_after.data = ", ".join(str(s) for s in sorted(current.steps) if s >= 0)
    if form.validate_on_submit():
        steps = [-d for d in form.days_before.days] + form.days_after.days
        with saving(form, editing=saved_settings) as saved:
            reminders.save_settings(
                db.session,
                g.tenant,
                enabled=form.enabled.data,
                steps=steps,
                lapse_after_days=form.lapse_after_days.data,
                subject=form.subject.data,
                body=form.body.data,
                version=form.version.data,
            )
        if saved:
            flash(_("The renewal reminder settings are saved."), "success")
            return redirect(url_for("mailings.reminder_settings"))
    return render_form(
        "mailings/reminders.html",
        form,
        fields=merge.FIELDS,
        catch_up_days=reminders.CATCH_UP_DAYS,
    )
