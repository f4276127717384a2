"""Views of renewals: the lists and their exports, "Renew" (a payment), payments."""

from __future__ import annotations

from datetime import date
from functools import partial

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from crm.downloads.exports import export_response
from crm.extensions import db
from crm.formats import date as format_date
from crm.forms import render_form, saving
from crm.i18n import _
from crm.members import queries as members
from crm.members.access import org_or_404, staff_only
from crm.models.membership import PAYMENT_METHODS
from crm.renewals import bp, queries, services
from crm.renewals.forms import PaymentForm


def _page_number() -> int:
    try:
        return min(max(1, int(request.args.get("page", 1))), 1_000_000)
    except ValueError:
        return 1


@bp.app_context_processor
def labels():
    return {"PAYMENT_METHODS": PAYMENT_METHODS}


@bp.route("/<tenant>/renewals")
@staff_only
def index():
    selection = queries.Selection.from_args(request.args)
    today = date.today()
    page = queries.page(
        g.tenant.id, selection, today, _page_number(), current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "renewals/index.html",
        selection=selection,
        page=page,
        today=today,
        counts=queries.counts(today, selection.days),
        lists=queries.LISTS,
        tab_args={key: queries.Selection(key, selection.days).args() for key in queries.LISTS},
        directory=url_for("members.directory", **selection.list_args()),
        mailing=url_for("mailings.new", **selection.list_args()),
    )


@bp.route("/<tenant>/renewals/export.<any(csv, xlsx):fmt>")
@staff_only
def export(fmt: str):
    selection = queries.Selection.from_args(request.args)
    today = date.today()
    return export_response(
        "renewals",
        fmt,
        f"renewals-{selection.list_name}-{g.tenant.slug}-{today}",
        partial(queries.export_count, g.tenant.id, selection, today),
        partial(queries.export_rows, g.tenant.id, selection, today),  # run as the CSV streams
    )


@bp.route("/<tenant>/members/<int:org_id>/renew", methods=["GET", "POST"])
@staff_only
def renew(org_id: int):
    org = org_or_404(org_id)
    membership = None if org.is_external else members.membership_of(org.id)
    if membership is None:
        flash(_("Record a membership status first; payments follow."), "warning")
        return redirect(url_for("members.change_status", org_id=org.id))
    form = PaymentForm()
    if request.method == "GET":
        form.version.data = membership.version
        form.currency.data = membership.fee_currency
        if membership.fee_amount is not None:
            form.amount.data = f"{membership.fee_amount:.2f}"
        form.period_from.data, form.period_to.data = services.next_period(membership, date.today())
    if form.validate_on_submit():
        with saving(form, editing=membership) as saved:
            services.record_payment(
                db.session,
                g.tenant.id,
                org,
                membership,
                form.fields(),
                user_id=current_user.id,
                version=form.version.data,
            )
        if saved:
            flash(
                _(
                    "Payment recorded: %(name)s is paid until %(day)s.",
                    name=org.name,
                    day=format_date(membership.paid_until),
                ),
                "success",
            )
            return redirect(url_for("members.show", org_id=org.id, _anchor="payments"))
    return render_form("renewals/renew.html", form, org=org, membership=membership)


@bp.route("/<tenant>/payments/<int:payment_id>")
@staff_only
def payment(payment_id: int):
    found = queries.payment_or_none(payment_id) if payment_id <= members.MAX_ID else None
    if found is None:
        abort(404)
    payment, org, recorded_by = found
    return render_template(
        "renewals/payment.html",
        payment=payment,
        org=org,
        recorded_by=recorded_by,
        audit=members.audit_history(g.tenant.id, "payments", payment.id),
    )


def _payments_export(fmt: str, filters: queries.PaymentFilter, filename: str):
    return export_response(
        "payments",
        fmt,
        filename,
        partial(queries.payment_count, filters),
        partial(queries.payment_export_rows, filters),
        args=MultiDict(filters.args()),
    )


@bp.route("/<tenant>/payments/export.<any(csv, xlsx):fmt>")
@staff_only
def payments_export(fmt: str):
    """The association's payments (``year=``: of one calendar year)."""
    filters = queries.PaymentFilter.from_args(request.args)
    year = f"-{filters.year}" if filters.year else ""
    return _payments_export(fmt, filters, f"payments-{g.tenant.slug}{year}-{date.today()}")


@bp.route("/<tenant>/members/<int:org_id>/payments.<any(csv, xlsx):fmt>")
@staff_only
def organisation_payments_export(fmt: str, org_id: int):
    org = org_or_404(org_id)
    filters = queries.PaymentFilter(org_id=org.id)
    return _payments_export(fmt, filters, f"payments-{g.tenant.slug}-{org.id}-{date.today()}")
