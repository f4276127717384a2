"""Views of partner requests. Load, check access, call a service, commit once, answer.

Another association's request is readable by every tenant role (that is its
purpose); closing it and answering its interests belong to its association.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import choices, regions
from crm.accounts.access import TENANT_ROLES, roles_required
from crm.extensions import db
from crm.forms import render_form, saving
from crm.i18n import _
from crm.members.queries import MAX_ID, organisation_or_none
from crm.models import Contact, Ecosystem, PartnerRequest
from crm.partner_requests import bp, queries, services
from crm.partner_requests.forms import ME, ActionForm, DecisionForm, InterestForm, RequestForm
from crm.projects import access as project_access
from crm.projects import queries as project_queries
from crm.validation import RuleError


def _request_or_404(request_id: int) -> PartnerRequest:
    found = queries.request_or_none(request_id)  # ids past MAX_ID never route (crm.http)
    if found is None:
        abort(404)
    return found


def _own_request_or_404(request_id: int) -> PartnerRequest:
    """The association's own request, which the user may act for."""
    found = _request_or_404(request_id)
    if found.tenant_id != g.tenant.id or not queries.may_act_for(found.organisation_id):
        abort(404)
    return found


def _person(value: str, contacts: list[Contact]):
    """The chosen person to share: the user, or one of the offered contacts."""
    if value == ME:
        return current_user._get_current_object()
    return next((c for c in contacts if f"c{c.id}" == value), None)


def _contact_choices(contacts: list[Contact], names: dict[int, str]) -> list[tuple[str, str]]:
    me = (ME, _("Me: %(name)s <%(email)s>", name=current_user.name, email=current_user.email))
    return [me] + [
        (f"c{c.id}", f"{c.full_name} ({names.get(c.organisation_id, '')}) <{c.email}>")
        for c in contacts
    ]


@bp.route("/<tenant>/requests")
@login_required
@roles_required(*TENANT_ROLES)
def index():
    filters = queries.RequestFilters.from_args(request.args)
    page = queries.request_list(filters, date.today())
    counts = queries.interest_counts([r.id for r in page.items if r.tenant_id == g.tenant.id])
    return render_template(
        "partner_requests/index.html",
        filters=filters,
        page=page,
        counts=counts,
        today=date.today(),
        programmes=choices.programmes(),
        ecosystems=_ecosystems(),
        countries=regions.country_names(),
    )


def _ecosystems() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Ecosystem.code, Ecosystem.name).order_by(Ecosystem.name))
    return [tuple(r) for r in rows]


@bp.route("/<tenant>/requests/new", methods=["GET", "POST"])
@login_required
@roles_required(*TENANT_ROLES)
def new():
    """Post a partner request; from a proposal's page, prefilled with the proposal."""
    project = None
    project_id = request.args.get("project_id", type=int)
    if project_id is not None and 0 < project_id <= MAX_ID:
        project = project_access.visible_project_or_404(project_id)
    form = RequestForm()
    consortium = project_queries.consortium(project.id) if project else []
    form.organisation_id.choices = queries.requesting_organisations([o.id for _, o in consortium])
    form.programme_code.choices = choices.programmes()
    form.ecosystems.choices = _ecosystems()
    form.countries.choices = regions.country_choices(regions.association_country())
    if request.method == "GET" and project is not None:
        form.title.data = _(
            "Partners sought for %(acronym)s: %(title)s",
            acronym=project.acronym,
            title=project.title,
        )[:200]
        form.programme_code.data = project.programme_code
        form.call_identifier.data = project.call_id
        coordinator = next((o for p, o in consortium
                            if p.role == "coordinator" and not o.is_external), None)  # fmt: skip
        form.organisation_id.data = coordinator.id if coordinator else None
    if form.validate_on_submit():
        org = organisation_or_none(form.organisation_id.data)
        with saving(form) as saved:
            if org is None or not queries.may_act_for(org.id):
                raise RuleError(_("Choose one of the offered organisations."), "organisation_id")
            posted = services.post_request(
                db.session,
                org,
                services.RequestFields(
                    title=form.title.data,
                    programme_code=form.programme_code.data,
                    deadline=form.deadline.data,
                    description=form.description.data,
                    call_identifier=form.call_identifier.data,
                    topic=form.topic.data,
                    roles_sought=form.roles_sought.data,
                    kinds=tuple(form.kinds.data or ()),
                    size_classes=tuple(form.size_classes.data or ()),
                    ecosystems=tuple(form.ecosystems.data or ()),
                    countries=tuple(form.countries.data or ()),
                ),
                current_user.id,
                date.today(),
            )
        if saved:
            flash(_("Your partner request is posted to the alliance."), "success")
            return redirect(url_for("partner_requests.show", request_id=posted.id))
    return render_form("partner_requests/form.html", form, project=project)


def _interest_form(form: InterestForm | None = None) -> InterestForm:
    form = form or InterestForm(formdata=None)
    offered = queries.published_organisations()
    names = dict(offered)
    form.organisation_id.choices = offered
    form.contact.choices = _contact_choices(queries.shareable_contacts(list(names)), names)
    return form


def _decision_form(found: PartnerRequest, form: DecisionForm | None = None) -> DecisionForm:
    form = form or DecisionForm(formdata=None)
    names = {found.organisation_id: found.organisation_name}
    form.contact.choices = _contact_choices(
        queries.shareable_contacts([found.organisation_id]), names
    )
    return form


def _show(found: PartnerRequest, interest_form=None, decision_form=None, refused=False):
    """The request's page; 422 after a refused form (field errors, or ``refused``)."""
    own = found.tenant_id == g.tenant.id
    interests = queries.visible_interests(found)
    can_act = own and queries.may_act_for(found.organisation_id)
    failed = [f for f in (interest_form, decision_form) if f is not None and f.errors]
    return render_template(
        "partner_requests/show.html",
        form=failed[0] if failed else ActionForm(formdata=None),
        request_=found,
        state=found.state(date.today()),
        own=own,
        can_act=can_act,
        interests=interests,
        shared=queries.shared_contacts(interests),
        interest_form=None if own else _interest_form(interest_form),
        decision_form=_decision_form(found, decision_form) if can_act else None,
        action_form=ActionForm(formdata=None),
        ecosystem_names=dict(_ecosystems()),
        country_names=regions.country_names(),
    ), (422 if failed or refused else 200)


@bp.route("/<tenant>/requests/<int:request_id>")
@login_required
@roles_required(*TENANT_ROLES)
def show(request_id: int):
    return _show(_request_or_404(request_id))


@bp.route("/<tenant>/requests/<int:request_id>/interest", methods=["POST"])
@login_required
@roles_required(*TENANT_ROLES)
def interest(request_id: int):
    """Express interest for one of the association's published organisations."""
    found = _request_or_404(request_id)
    if found.tenant_id == g.tenant.id:
        abort(404)
    form = _interest_form(InterestForm())
    state = found.state(date.today())
    if state != "open":
        flash(services.no_longer_open(state), "error")
        return _show(found, interest_form=form, refused=True)
    if form.validate_on_submit():
        org = organisation_or_none(form.organisation_id.data)
        names = {oid for oid, _ in form.organisation_id.choices}
        if org is None or org.id not in names:
            abort(404)  # not published, not the association's, or not the user's to act for
        contacts = queries.shareable_contacts([org.id])
        person = _person(form.contact.data, contacts)
        if person is None:
            form.contact.errors.append(_("Choose yourself or a contact of this organisation."))
        else:
            with saving(form) as saved:
                services.express_interest(
                    db.session, found, org, form.message.data, person, current_user.id,
                    date.today(),
                )  # fmt: skip
            if saved:
                message = _(
                    "Your interest for %(organisation)s is sent to %(requester)s.",
                    organisation=org.name,
                    requester=found.organisation_name,
                )
                flash(message, "success")
                return redirect(url_for("partner_requests.show", request_id=found.id))
    return _show(found, interest_form=form)


@bp.route(
    "/<tenant>/requests/<int:request_id>/interests/<int:interest_id>/<any(accept, decline):answer>",
    methods=["POST"],
)
@login_required
@roles_required(*TENANT_ROLES)
def decide(request_id: int, interest_id: int, answer: str):
    found = _own_request_or_404(request_id)
    chosen = queries.interest_or_none(found, interest_id)
    if chosen is None:
        abort(404)
    form = _decision_form(found, DecisionForm())
    if form.validate_on_submit():
        accept = answer == "accept"
        contacts = queries.shareable_contacts([found.organisation_id])
        person = _person(form.contact.data or "", contacts)
        with saving(form) as saved:
            done = services.decide(db.session, chosen, accept, person)
        if saved:
            if done:
                flash(
                    _(
                        "%(organisation)s: %(status)s.",
                        organisation=chosen.organisation_name,
                        status=str(chosen.status_label).lower(),
                    ),
                    "success",
                )
            else:
                flash(_("This interest was already answered (or withdrawn)."), "error")
            return redirect(url_for("partner_requests.show", request_id=found.id))
    return _show(found, decision_form=form)


@bp.route(
    "/<tenant>/requests/<int:request_id>/interests/<int:interest_id>/withdraw",
    methods=["POST"],
)
@login_required
@roles_required(*TENANT_ROLES)
def withdraw_interest(request_id: int, interest_id: int):
    found = _request_or_404(request_id)
    chosen = queries.interest_or_none(found, interest_id)
    if (
        chosen is None
        or chosen.tenant_id != g.tenant.id
        or not queries.may_act_for(chosen.organisation_id)
    ):
        abort(404)
    if ActionForm().validate_on_submit():
        if services.withdraw_interest(db.session, chosen):
            flash(_("Your interest is withdrawn."), "success")
        db.session.commit()
    return redirect(url_for("partner_requests.show", request_id=found.id))


@bp.route("/<tenant>/requests/<int:request_id>/close", methods=["POST"])
@login_required
@roles_required(*TENANT_ROLES)
def close(request_id: int):
    found = _own_request_or_404(request_id)
    if ActionForm().validate_on_submit():
        if services.close_request(db.session, found):
            flash(
                _("The request is closed: it no longer takes expressions of interest."), "success"
            )
        db.session.commit()
    return redirect(url_for("partner_requests.show", request_id=found.id))


@bp.route("/<tenant>/notifications")
@login_required
@roles_required(*TENANT_ROLES)
def notifications():
    """The news of partner requests; opening the list marks it read."""
    items = queries.notifications(current_user)
    services.mark_notifications_seen(db.session, current_user._get_current_object())
    db.session.commit()
    return render_template("partner_requests/notifications.html", items=items)
