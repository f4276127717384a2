"""Views of duplicates and merge: load, check access, call a service, commit once, answer."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from crm.duplicates import queries
from crm.exports import download
from crm.extensions import db
from crm.forms import saving
from crm.i18n import _l, ngettext
from crm.members import queries as member_queries
from crm.members.forms import OrganisationForm
from crm.members.views import staff_only
from crm.merge import bp, services
from crm.merge.forms import merge_form, other_id
from crm.models import Organisation

REPORT_HEADERS = [
    _l("Organisation"),
    _l("City"),
    _l("Id"),
    _l("Likely duplicate"),
    _l("City"),
    _l("Id"),
    _l("Why"),
]


def _labels() -> dict[str, str]:
    form = OrganisationForm()
    return {name: form[name].label.text for name in services.FIELDS if name in form}


def _organisation(org_id: int | None) -> Organisation | None:
    if org_id is None:
        return None
    return db.session.scalar(select(Organisation).where(Organisation.id == org_id))


@bp.route("/<tenant>/members/<int:org_id>/merge", methods=["GET", "POST"])
@staff_only
def merge(org_id: int):
    survivor = _organisation(org_id)
    if survivor is None:
        abort(404)
    if survivor.merged_into_id is not None:
        return redirect(url_for("members.show", org_id=survivor.merged_into_id))
    chosen_id = other_id(request.values.get("other_id"))
    other = _organisation(chosen_id)
    if chosen_id is not None and other is None:
        abort(404)  # another association's id, or none: nothing said about it
    message = services.refusal(survivor, other) if other is not None else None
    labels = _labels()
    fields = services.differences(survivor, other) if other is not None and not message else []
    form = merge_form(fields, labels)
    if request.method == "POST" and other is not None and not message and form.validate():
        with saving(form) as saved:
            counts = services.merge_organisations(
                db.session, g.tenant.id, survivor, other, form.chosen()
            )
        if saved:
            moved = sum(n for name, n in counts.items() if name.endswith("moved"))
            flash(
                ngettext(
                    "%(other)s is merged into %(name)s: %(num)s related row moved.",
                    "%(other)s is merged into %(name)s: %(num)s related rows moved.",
                    moved,
                    other=other.name,
                    name=survivor.name,
                ),
                "success",
            )
            return redirect(url_for("members.show", org_id=org_id))
    if message and request.method == "POST":
        flash(message, "error")
    candidates = queries.candidates(_values_of(survivor), exclude_id=survivor.id)
    search = (request.args.get("q") or "").strip()[:100]
    found = _search(search, survivor.id) if search else []
    page = render_template(
        "merge/merge.html",
        form=form,
        org=survivor,
        other=other,
        refusal=message,
        fields=fields,
        labels=labels,
        values=(services.merged_values(survivor, other, {}) if other and not message else {}),
        candidates=candidates,
        search=search,
        found=found,
    )
    return page, (422 if form.errors or message else 200)


def _values_of(org: Organisation) -> dict:
    return {name: getattr(org, name) for name in ("name", "city", "country", *queries.IDENTIFIERS)}


def _search(q: str, exclude_id: int) -> list:
    filters = member_queries.DirectoryFilters(q=q, relation="all", per_page=20)
    return [row for row in member_queries.directory_page(filters).items if row.id != exclude_id]


@bp.route("/<tenant>/duplicates")
@staff_only
def report():
    try:
        number = min(max(1, int(request.args.get("page", 1))), 1_000_000)
    except ValueError:
        number = 1
    per_page = current_app.config["PAGE_SIZE"]
    page = member_queries.Page(
        queries.report_rows(number, per_page), queries.report_count(), number, per_page
    )
    return render_template("merge/report.html", page=page)


@bp.route("/<tenant>/duplicates/export.<any(csv, xlsx):fmt>")
@staff_only
def report_export(fmt: str):
    rows = [
        (p.a_name, p.a_city, p.a_id, p.b_name, p.b_city, p.b_id, "; ".join(p.reasons))
        for p in queries.report_rows()
    ]
    return download(fmt, f"duplicates-{g.tenant.slug}-{date.today()}", REPORT_HEADERS, rows)
