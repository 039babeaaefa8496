"""Evidence pages (server-rendered): a routing table. Handlers look records up in the user's
lab, hand forms to the same services as the API, and render."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ballistics.audit.services import record_read
from ballistics.auth.access import get_in_lab
from ballistics.core import confirm
from ballistics.core.forms import PageForm, submit
from ballistics.core.labels import label
from ballistics.core.pagination import Filters, listed, page_filters
from ballistics.evidence import (
    court_reports,
    custody,
    disposal,
    forms,
    label_pdf,
    labels,
    lists,
    reports,
)
from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import Case, DisposalRequest, Item, ItemKind, ItemStatus
from ballistics.evidence.services import case_for_intake, create_case
from ballistics.extensions import db

bp = Blueprint("evidence", __name__)
bp.add_app_template_filter(reports.fmt_utc, "utc")

#: page action -> the custody service it calls (the same functions the API calls)
SERVICES = {"transfer": custody.transfer, "store": custody.store,
            "return": partial(custody.store, returning=True), "check-out": custody.check_out,
            "seal": custody.seal, "unseal": custody.unseal, "sample": custody.sample,
            "release": custody.release, "destroy": custody.destroy,
            "disposal-requests": disposal.request}
assert SERVICES.keys() == forms.ACTIONS.keys(), "every page action needs a form and a service"


@bp.route("/cases")
@login_required
def case_list() -> ResponseReturnValue:
    form = forms.CaseForm(formdata=None) if forms.may_intake(current_user) else None
    filters = page_filters(lists.CaseFilterSchema)
    return _case_list(form, filters), filters.status


def _case_list(form: forms.CaseForm | None, filters: Filters | None = None) -> str:
    filters = filters if filters is not None else page_filters(lists.CaseFilterSchema)
    page = listed(filters, lambda: lists.cases_select(current_user, filters),
                  order_by=lists.CASE_ORDER)
    return render_template("evidence/case_list.html", page=page, filters=filters, form=form)


@bp.route("/items")
@login_required
def item_list() -> ResponseReturnValue:
    filters = page_filters(lists.ItemFilterSchema)
    page = listed(filters, lambda: lists.items_select(current_user, filters),
                  order_by=lists.ITEM_ORDER)
    return render_template("evidence/item_list.html", page=page, filters=filters,
                           kinds=[k.value for k in ItemKind],
                           statuses=[s.value for s in ItemStatus],
                           holders=lists.HOLDERS), filters.status


@bp.post("/cases")
@login_required
def case_create() -> ResponseReturnValue:
    return submit(forms.CaseForm(), lambda data: create_case(current_user, **data),
                  schema=forms.CaseForm.schema, render=_case_list,
                  done=lambda case: (_("Case %(number)s opened.", number=case.lab_case_number),
                                     url_for(".case_page", case_id=case.id)))


@bp.route("/cases/<int:case_id>")
@login_required
def case_page(case_id: int) -> ResponseReturnValue:
    case = get_in_lab(Case, case_id, current_user, what="case")
    form = forms.ReceiveForm(formdata=None) if forms.may_intake(current_user) else None
    return _case_page(case, form)


def _case_page(case: Case, form: forms.ReceiveForm | None, **extra) -> str:
    return render_template("evidence/case.html", case=case, form=form, **extra)


def case_page_html(case: Case, **extra) -> str:
    """The case page; ``extra`` goes to the template (another domain's refused form on this
    page, e.g. a correction of a case link)."""
    form = forms.ReceiveForm(formdata=None) if forms.may_intake(current_user) else None
    return _case_page(case, form, **extra)


@bp.post("/cases/<int:case_id>/items")
@login_required
def item_receive(case_id: int) -> ResponseReturnValue:
    case = case_for_intake(current_user, case_id)
    return submit(forms.ReceiveForm(), lambda data: custody.receive(current_user, case, **data),
                  schema=forms.ReceiveForm.schema, render=partial(_case_page, case),
                  done=lambda item: (_("Item %(barcode)s received into your custody.",
                                       barcode=item.barcode),
                                     url_for(".item_page", item_id=item.id)))


@bp.route("/items/<int:item_id>")
@login_required
def item_page(item_id: int) -> ResponseReturnValue:
    return item_page_html(custody.load_item(current_user, item_id))


def item_page_html(item: Item, action: str | None = None, form: PageForm | None = None,
                   **extra) -> str:
    """The item page; a refused action's form is shown bound, with its messages. ``extra``
    goes to the template (another domain's refused form on this page, e.g. a scan upload)."""
    actions = [(name, spec, form if name == action else unbound)
               for name, spec, unbound in forms.item_actions(current_user, item)]
    override = forms.pending_override(current_user, item, extra.pop("override_confirm", None))
    return render_template("evidence/item.html", item=item, rows=reports.timeline(item),
                           badge=_badge(item), actions=actions, override=override, **extra)


@bp.post("/items/<int:item_id>/<action>")
@login_required
def item_action(item_id: int, action: str) -> ResponseReturnValue:
    if action not in forms.ACTIONS:
        abort(404)
    item = custody.load_item(current_user, item_id)
    form = forms.action_form(action, current_user, item, bound=True)
    page = url_for(".item_page", item_id=item.id)
    render = partial(item_page_html, item, action)

    def call(data: dict):
        if "confirm" in form:
            # Release, destruction and the override request are confirmed on the page: once
            # the input is valid, refused unless the box naming the consequence was ticked.
            confirm.require(form, render)
        return SERVICES[action](current_user, item, **data)

    return submit(form, call, schema=form.schema, render=render,
                  done=lambda result: (_done(item, result), page))


@bp.post("/disposal-requests/<int:request_id>/<decision>")
@login_required
def disposal_decide(request_id: int, decision: str) -> ResponseReturnValue:
    """A second person confirms a manager's override, or a manager cancels it."""
    services = {"confirm": disposal.confirm, "cancel": disposal.cancel}
    if decision not in services:
        abort(404)
    row = get_in_lab(DisposalRequest, request_id, current_user, what="override request")
    item = row.item
    form: PageForm = forms.ButtonForm()
    if decision == "confirm":
        # The confirmation makes the release or destruction happen: the box must be ticked.
        form = confirm.ask(forms.DecisionConfirmForm(), forms.decision_consequence(row))
        confirm.require(form, lambda bound: item_page_html(item, override_confirm=bound))
    return submit(form, lambda _data: services[decision](current_user, row),
                  render=lambda _form: item_page_html(item),
                  done=lambda result: (_done(item, result),
                                       url_for(".item_page", item_id=item.id)))


@bp.route("/items/<int:item_id>/label")
@login_required
def item_label(item_id: int) -> ResponseReturnValue:
    item = custody.load_item(current_user, item_id)
    return render_template("evidence/label.html", item=item,
                           code128=labels.code128_svg(item.barcode),
                           qr=labels.qr_svg(item.barcode))


@bp.route("/items/<int:item_id>/label.pdf")
@login_required
def item_label_pdf(item_id: int) -> ResponseReturnValue:
    """The item's label as a PDF page of the label's size (``?size=62mm`` or ``2x1in``)."""
    item = custody.load_item(current_user, item_id)
    return _labels_response([item], f"label-{item.barcode}")


@bp.route("/cases/<int:case_id>/labels.pdf")
@login_required
def case_labels_pdf(case_id: int) -> ResponseReturnValue:
    """A label for every item of the case (sub-items too), one per page, in item order."""
    case = get_in_lab(Case, case_id, current_user, what="case")
    return _labels_response(case.items, f"labels-{case.lab_case_number}")


def _labels_response(items: list[Item], name: str) -> Response:
    size = label_pdf.SIZES.get(request.args.get("size", label_pdf.DEFAULT_SIZE))
    if size is None:
        abort(404, description=_("Unknown label size; choose one of %(sizes)s.",
                                 sizes=", ".join(label_pdf.SIZES)))
    pdf = label_pdf.item_labels(items, current_user.lab.name, size)
    filename = f"{name.replace('/', '_')}-{size.key}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"'})


@bp.route("/items/<int:item_id>/report")
@login_required
def item_report(item_id: int) -> ResponseReturnValue:
    item = custody.load_item(current_user, item_id)
    report = reports.custody_report(current_user, item)
    return render_template("evidence/report.html", r=report, badge=report.verdict.badge)


@bp.route("/items/<int:item_id>/report.pdf")
@login_required
def item_report_pdf(item_id: int) -> ResponseReturnValue:
    """The court report as a PDF; its data is kept under the digest printed in its footer."""
    item = custody.load_item(current_user, item_id)
    issued = court_reports.issue_pdf(
        current_user, item, lambda digest: url_for(".court_report_data", digest=digest,
                                                   _external=True))
    return Response(issued.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{issued.filename}"',
        "X-Report-SHA256": issued.sha256})


@bp.route("/court-reports/<digest>.json")
@login_required
def court_report_data(digest: str) -> ResponseReturnValue:
    """The data a court report PDF of this lab printed, byte for byte: its SHA-256 is the
    digest in the PDF's footer."""
    data = court_reports.stored_data(current_user.lab_id, digest)
    if data is None:
        abort(404, description=_("No report of your laboratory has this digest."))
    return Response(data, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="custody-report-{digest[:16]}.json"'})


@bp.route("/items/<int:item_id>/report/proof.json")
@login_required
def item_report_proof(item_id: int) -> ResponseReturnValue:
    """The court proof file: the item's events, their inclusion proofs and the witnessed
    checkpoint, signed by the lab (check it with ``flask ledger verify-report``)."""
    item = custody.load_item(current_user, item_id)
    proof, error = reports.ledger_proof(current_user, item)
    if proof is None:
        abort(503, description=f"The ledger could not produce a proof file: {error}")
    record_read(db.session, lab_id=item.lab_id, object_type="items", object_id=str(item.id),
                detail={"view": "custody_proof_file", "barcode": item.barcode,
                        "verified": proof.check.ok, "witnessed": bool(proof.check.witnessed)})
    return Response(proof.data, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{proof.filename}"'})


def _badge(item: Item) -> tuple[bool, str]:
    result = verify_chain(db.session, item)
    return result.ok, reports.badge(result)


def _done(item: Item, result) -> str:
    if isinstance(result, Item):
        return _("Sub-item %(barcode)s created and recorded on both chains.",
                 barcode=result.barcode)
    if isinstance(result, DisposalRequest):
        if result.status == "cancelled":
            return _("Override request %(id)s cancelled; item %(barcode)s is unchanged.",
                     id=result.id, barcode=item.barcode)
        if result.action == "release":
            return _("Override request %(id)s recorded: item %(barcode)s is released only once "
                     "a second person confirms it.", id=result.id, barcode=item.barcode)
        return _("Override request %(id)s recorded: item %(barcode)s is destroyed only once "
                 "a second person confirms it.", id=result.id, barcode=item.barcode)
    return _("Item %(barcode)s: %(kind)s, event %(seq)s recorded.", barcode=item.barcode,
             kind=label(result.kind), seq=result.seq)
