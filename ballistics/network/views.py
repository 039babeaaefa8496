"""Network pages. At a lab node: the network overview (sharing policy, exclusions, leads, who
looked), partner searches and leads. At the hub: the dashboard of members, shared records,
searches and leads against the 24-48 h that leads are expected in."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import partial

from babel import dates as babel_dates
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.auth.models import User
from ballistics.comparisons.models import Scan, ScanStatus
from ballistics.comparisons.panels import likelihood_ratio
from ballistics.comparisons.permissions import REVIEW_CANDIDATES, SCAN_AND_SEARCH
from ballistics.comparisons.validation import lr_reason
from ballistics.core.forms import FormRefused, load, submit, summary
from ballistics.core.i18n import local_datetime
from ballistics.core.labels import label
from ballistics.core.numbers import number
from ballistics.core.ratelimit import upload_limit
from ballistics.evidence.custody import load_item
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from ballistics.network import dashboard, exchange, forms, interchange, node
from ballistics.network.models import (
    ExhibitTransfer,
    LeadDirection,
    LeadStatus,
    NetworkAccess,
    PartnerLead,
    PartnerSearch,
    SearchState,
    SharedScan,
    ShareExclusion,
    TransferStatus,
)
from ballistics.network.permissions import (
    EXPORT_SCANS,
    IMPORT_REFERENCES,
    MANAGE_SHARING,
    OPERATE_HUB,
    RECEIVE_EXHIBITS,
    SEND_EXHIBITS,
)

bp = Blueprint("network", __name__)
#: a partner lab's network code, as the API's schema checks it
LAB_CODE = re.compile(r"[A-Z0-9-]{2,16}")
FINAL = (SearchState.DONE, SearchState.FAILED)


def connected() -> bool:
    cfg = current_app.config
    return cfg["APP_ROLE"] == "lab" and bool(cfg["NETWORK_HUB_URL"] and cfg["NETWORK_LAB"])


@bp.app_context_processor
def _nav() -> dict:
    return {"network_nav": connected(), "hub_nav": current_app.config["APP_ROLE"] == "hub"}


@bp.app_template_global()
def partner_search_button(scan: Scan) -> forms.ButtonForm | None:
    """The "search the region" button of a scan on the item page, where it applies."""
    if (not connected() or scan.status != ScanStatus.DONE
            or not current_user.has_role(*SCAN_AND_SEARCH)):
        return None
    return forms.ButtonForm(formdata=None)


@bp.app_template_global()
def scan_interchange(scans: list[Scan]) -> dict[int, dict]:
    """Per scan of the item page: its provenance if imported, and whether this user may
    export it as x3p (a shared 3D scan)."""
    ids = [scan.id for scan in scans]
    provenance = interchange.provenance_of(ids)
    exportable: set[int] = set()
    if ids and current_user.has_role(*EXPORT_SCANS):
        exportable = set(db.session.scalars(select(SharedScan.scan_id).where(
            SharedScan.scan_id.in_(ids), SharedScan.lab_id == current_user.lab_id,
            SharedScan.is_withdrawn.is_(False))))
    return {scan.id: {"provenance": provenance.get(scan.id),
                      "export": scan.id in exportable and scan.file_format == "x3p"}
            for scan in scans}


@bp.app_template_global()
def reference_import_form(item: Item, bound: forms.ImportForm | None = None
                          ) -> forms.ImportForm | None:
    if not current_user.has_role(*IMPORT_REFERENCES):
        return None
    return bound or forms.ImportForm(formdata=None, calibre=item.calibre)


@bp.app_template_filter("file_time")
def file_time(text: str) -> str:
    """A time as another system wrote it in a file (x3p Record2's ISO 8601 Date): with its
    zone, in the lab's zone and the reader's format; without one, the reader's format and a
    word that the file names no zone (the page showed "2026-11-27T12:43:20" as it was)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        return text or "—"  # not a time this reader can parse: the file's own words
    if when.tzinfo is not None:
        return local_datetime(when.astimezone(UTC).replace(tzinfo=None), "short")
    written = babel_dates.format_datetime(when, "short", tzinfo=None, locale=get_locale())
    return _("%(when)s (the file names no time zone)", when=written)


def _node_only() -> None:
    if not connected():
        abort(404)


# -- the lab node ----------------------------------------------------------------------------


@bp.route("/network")
@login_required
def overview() -> ResponseReturnValue:
    _node_only()
    return _overview()


def _overview(policy_form: forms.PolicyForm | None = None,
              exclusion_form: forms.ExclusionForm | None = None,
              lifting: tuple[int, forms.LiftExclusionForm] | None = None) -> str:
    """The network overview; ``lifting``: an exclusion's refused lift form, shown bound."""
    lab_id = current_user.lab_id
    leads = db.session.scalars(lab_select(PartnerLead, current_user)
                               .order_by(PartnerLead.id.desc()).limit(200)).all()
    manager = current_user.has_role(*MANAGE_SHARING)
    context = {"incoming": [x for x in leads if x.direction == LeadDirection.INCOMING],
               "outgoing": [x for x in leads if x.direction == LeadDirection.OUTGOING],
               "searches": db.session.scalars(lab_select(PartnerSearch, current_user)
                                              .order_by(PartnerSearch.id.desc()).limit(20)).all(),
               "manager": manager, "backlog": node.backlog()}
    if manager:
        policy = node.policy_of(lab_id)
        if policy_form is None:
            policy_form = forms.PolicyForm(
                formdata=None, mode=policy.mode, partners=", ".join(policy.partners),
                offence_contains=", ".join(policy.criteria.get("offence_contains", [])),
                agency_contains=", ".join(policy.criteria.get("agency_contains", [])))
        if exclusion_form is None:
            exclusion_form = forms.ExclusionForm(formdata=None)
        cases = db.session.scalars(lab_select(Case, current_user)
                                   .order_by(Case.id.desc()).limit(500)).all()
        exclusion_form.case_id.choices = [("", _("— choose —"))] + [
            (str(c.id), f"{c.lab_case_number} · {c.offence}") for c in cases]
        exclusions = db.session.scalars(lab_select(ShareExclusion, current_user)
                                        .order_by(ShareExclusion.id.desc())).all()
        lift_forms = {e.id: forms.LiftExclusionForm(formdata=None, prefix=f"lift{e.id}")
                      for e in exclusions if e.is_active}
        if lifting is not None:
            lift_forms[lifting[0]] = lifting[1]
        context.update(
            policy_form=policy_form, exclusion_form=exclusion_form,
            exclusions=exclusions, lift_forms=lift_forms, **_exclusion_names(exclusions),
            shared=db.session.scalar(select(db.func.count(SharedScan.id)).where(
                SharedScan.lab_id == lab_id, SharedScan.is_withdrawn.is_(False))),
            accesses=db.session.scalars(lab_select(NetworkAccess, current_user)
                                        .order_by(NetworkAccess.id.desc()).limit(100)).all())
    return render_template("network/overview.html", **context)


def _exclusion_names(exclusions: list[ShareExclusion]) -> dict:
    """What the exclusions list names: a case by its lab case number, a withdrawn record by
    its item's barcode, people by name (never database ids)."""
    cases = {e.case_id for e in exclusions if e.case_id}
    scans = {e.scan_id for e in exclusions if e.scan_id}
    people = {e.created_by_id for e in exclusions} | {e.lifted_by_id for e in exclusions}
    return {
        "excluded_cases": dict(db.session.execute(select(Case.id, Case.lab_case_number)
                                                  .where(Case.id.in_(cases))).all()),
        "excluded_scans": {row.id: row for row in db.session.execute(
            select(Scan.id, Scan.item_id, Item.barcode).join(Item, Item.id == Scan.item_id)
            .where(Scan.id.in_(scans)))},
        "people": dict(db.session.execute(select(User.id, User.full_name)
                                          .where(User.id.in_(people - {None}))).all())}


@bp.post("/network/policy")
@login_required
def policy_set() -> ResponseReturnValue:
    _node_only()
    form = forms.PolicyForm()
    render = partial(_overview)

    def call(_data: dict):
        # Codes as the exhibit form reads them (upper case); a wrong one is named, once.
        partners = [code.upper() for code in forms.as_list(form.partners.data)]
        wrong = [code for code in partners if not LAB_CODE.fullmatch(code)]
        if wrong:
            refused = {"partners": [_("Not a lab code (A-Z, 0-9, -; 2 to 16 characters): "
                                      "%(codes)s.", codes=", ".join(wrong))]}
            raise FormRefused(summary(form, refused), form, render, refused)
        data = load(form, forms.PolicyForm.schema, render, {
            "mode": form.mode.data, "partners": partners,
            "offence_contains": forms.as_list(form.offence_contains.data),
            "agency_contains": forms.as_list(form.agency_contains.data)})
        return node.set_policy(current_user, **data)

    return submit(form, call, render=render,
                  done=lambda p: (_("Sharing set to %(mode)s; what the hub holds follows once "
                                    "the hub has the change.", mode=label(p.mode)),
                                  url_for(".overview")))


@bp.post("/network/exclusions")
@login_required
def exclusion_create() -> ResponseReturnValue:
    _node_only()
    form = forms.ExclusionForm()

    def call(data: dict):
        case = get_in_lab(Case, data["case_id"], current_user, what="case")
        return node.exclude_case(current_user, case, data["reason"])

    return submit(form, call, schema=forms.ExclusionForm.schema,
                  render=lambda bound: _overview(exclusion_form=bound),
                  done=lambda _e: (_("The case is excluded; its records leave the hub."),
                                   url_for(".overview")))


@bp.post("/network/exclusions/<int:exclusion_id>/lift")
@login_required
def exclusion_lift(exclusion_id: int) -> ResponseReturnValue:
    _node_only()
    exclusion = get_in_lab(ShareExclusion, exclusion_id, current_user, what="exclusion")
    form = forms.LiftExclusionForm(prefix=f"lift{exclusion_id}")
    return submit(form, lambda data: node.lift_exclusion(current_user, exclusion, data["reason"]),
                  schema=forms.LiftExclusionForm.schema,
                  render=lambda bound: _overview(lifting=(exclusion_id, bound)),
                  done=lambda _e: (_("The exclusion is lifted; the sharing policy decides again "
                                     "what of it the hub holds."), url_for(".overview")))


@bp.post("/scans/<int:scan_id>/partner-searches")
@login_required
def search_start(scan_id: int) -> ResponseReturnValue:
    _node_only()
    scan = get_in_lab(Scan, scan_id, current_user, what="scan")
    from ballistics.evidence.views import item_page_html

    return submit(forms.ButtonForm(), lambda _d: node.start_partner_search(current_user, scan),
                  render=lambda _f: item_page_html(scan.item),
                  done=lambda s: (_("Partner search %(id)s queued for the regional hub; this page "
                                    "follows it.", id=s.id),
                                  url_for(".search_page", search_id=s.id)))


@bp.route("/network/searches/<int:search_id>")
@login_required
def search_page(search_id: int) -> ResponseReturnValue:
    _node_only()
    return _search_page(get_in_lab(PartnerSearch, search_id, current_user,
                                   what="partner search"))


def _search_page(search: PartnerSearch, bound: forms.LeadRequestForm | None = None,
                 record: int | None = None) -> str:
    """``bound``: the refused question about candidate ``record``, shown with its note and
    its error in that candidate's row only (the other rows keep empty forms)."""
    asked = {x.reference: x for x in db.session.scalars(
        lab_select(PartnerLead, current_user).where(PartnerLead.search_id == search.id))}
    may_ask = current_user.has_role(*REVIEW_CANDIDATES)
    return render_template("network/search.html", search=search, scan=db.session.get(
        Scan, search.scan_id), asked=asked, lr=likelihood_ratio, lr_reason=lr_reason,
        own=node.node_lab().code,
        form=forms.LeadRequestForm(formdata=None) if may_ask else None,
        bound=bound, bound_record=record, final=search.status in FINAL,
        wait_minutes=current_app.config["NETWORK_SEARCH_TIMEOUT"] // 60)


@bp.route("/network/searches/<int:search_id>/status.json")
@login_required
def search_status(search_id: int) -> ResponseReturnValue:
    search = get_in_lab(PartnerSearch, search_id, current_user, what="partner search")
    return jsonify(status=search.status.value, label=label(search.status),
                   reason=search.error_said,
                   final=search.status in FINAL)


@bp.post("/network/searches/<int:search_id>/candidates/<int:record>/lead")
@login_required
def lead_request(search_id: int, record: int) -> ResponseReturnValue:
    search = get_in_lab(PartnerSearch, search_id, current_user, what="partner search")
    form = forms.LeadRequestForm()

    render = partial(_search_page, search, record=record)

    def call(data: dict) -> PartnerLead:
        return node.request_lead(current_user, search, record, data["note"])

    return submit(form, lambda _d: call(load(form, forms.LeadRequestForm.schema, render,
                                             {"record": record, "note": form.note.data or ""})),
                  render=render,
                  # the question waits in our outbox until the hub takes it (it may be down):
                  # said as going, not as asked
                  done=lambda lead: (_("Your question about %(ref)s goes to %(lab)s through the "
                                       "regional hub; the answer appears under Network.",
                                       lab=lead.partner_code, ref=lead.reference),
                                     url_for(".lead_page", lead_id=lead.id)))


@bp.route("/network/leads/<int:lead_id>")
@login_required
def lead_page(lead_id: int) -> ResponseReturnValue:
    return _lead_page(node.lead_in_lab(current_user, lead_id))


def _lead_page(lead: PartnerLead, bound: forms.AnswerForm | None = None) -> str:
    may_answer = (lead.direction == LeadDirection.INCOMING
                  and current_user.has_role(*REVIEW_CANDIDATES))
    return render_template("network/lead.html", lead=lead, lr=likelihood_ratio,
                           scan=db.session.get(Scan, lead.scan_id) if lead.scan_id else None,
                           form=bound or (forms.AnswerForm(formdata=None) if may_answer
                                          else None))


@bp.post("/network/leads/<int:lead_id>/answer")
@login_required
def lead_answer(lead_id: int) -> ResponseReturnValue:
    lead = node.lead_in_lab(current_user, lead_id)
    return submit(forms.AnswerForm(),
                  lambda data: node.answer_lead(current_user, lead, data["status"],
                                                data["answer"]),
                  schema=forms.AnswerForm.schema, render=partial(_lead_page, lead),
                  done=lambda x: (_("Answer recorded (%(status)s); %(lab)s sees it once the hub "
                                    "has it.", status=label(x.status), lab=x.partner_code),
                                  url_for(".lead_page", lead_id=x.id)))


# -- interchange -----------------------------------------------------------------------------


@bp.route("/scans/<int:scan_id>/x3p")
@login_required
def scan_export(scan_id: int) -> ResponseReturnValue:
    scan = get_in_lab(Scan, scan_id, current_user, what="scan")
    export = interchange.export_scan(current_user, scan)
    return Response(export.data, mimetype="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"'})


@bp.post("/items/<int:item_id>/reference-imports")
@login_required
@upload_limit
def reference_import(item_id: int) -> ResponseReturnValue:
    from ballistics.evidence.views import item_page_html

    item = load_item(current_user, item_id)
    form = forms.ImportForm()

    def render(bound: forms.ImportForm) -> str:
        return item_page_html(item, reference_import=bound)

    def call(data: dict):
        upload = data.pop("file", None)
        if not upload or not upload.filename:
            missing = {"file": [_("Choose the x3p file to import.")]}
            raise FormRefused(summary(form, missing), form, render, missing)
        fields = load(form, forms.ImportForm.schema, render, data)
        return interchange.import_reference(current_user, item, data=upload.read(),
                                            filename=upload.filename, **fields)

    def done(result) -> tuple[str, str]:
        scan, provenance, created = result
        page = url_for("evidence.item_page", item_id=item.id, _anchor="scans")
        if not created:
            return _("This file is already reference scan %(id)s of this item.",
                     id=scan.id), page
        return (_("Reference scan %(id)s imported from %(lab)s; its features are being "
                  "computed.", id=scan.id, lab=provenance.source_lab), page)

    return submit(form, call, render=render, done=done)


# -- physical exchange -----------------------------------------------------------------------


@bp.route("/network/exhibits")
@login_required
def exhibits() -> ResponseReturnValue:
    _node_only()
    return _exhibits()


def _exhibits(send: forms.SendExhibitForm | None = None,
              receive: tuple[int, forms.ReceiveExhibitForm] | None = None) -> str:
    transfers = db.session.scalars(lab_select(ExhibitTransfer, current_user)
                                   .order_by(ExhibitTransfer.id.desc()).limit(200)).all()
    if send is None and current_user.has_role(*SEND_EXHIBITS):
        send = forms.SendExhibitForm(formdata=None)
    offer = None
    if send is not None:
        offer = exchange.send_offer(current_user)
        send.item_id.choices = [("", _("— choose —"))] + [
            (str(i.id), f"{i.barcode} · {label(i.kind)}") for i in offer.items]
    forms_by_transfer: dict[int, forms.ReceiveExhibitForm] = {}
    if current_user.has_role(*RECEIVE_EXHIBITS):
        cases = db.session.scalars(lab_select(Case, current_user)
                                   .order_by(Case.id.desc()).limit(500)).all()
        for t in transfers:
            # an unproven release cannot be received against (receive_exhibit refuses it)
            if (t.direction == LeadDirection.INCOMING and t.status == TransferStatus.DELIVERED
                    and t.release_verified):
                form = (receive[1] if receive and receive[0] == t.id
                        else forms.ReceiveExhibitForm(formdata=None))
                form.case_id.choices = [("", _("— choose —"))] + [
                    (str(c.id), f"{c.lab_case_number} · {c.offence}") for c in cases]
                forms_by_transfer[t.id] = form
    return render_template("network/exhibits.html", transfers=transfers, send=send,
                           offer=offer, receive=forms_by_transfer)


@bp.post("/network/exhibits")
@login_required
def exhibit_send() -> ResponseReturnValue:
    _node_only()
    form = forms.SendExhibitForm()
    render = partial(_exhibits)

    def call(_data: dict) -> ExhibitTransfer:
        # Every refusal at once: the item chosen or not, and the schema's fields.
        refused = {} if (form.item_id.data or "").isdigit() else {
            "item_id": [_("Choose the item you send.")]}
        try:
            data = load(form, forms.SendExhibitForm.schema, render,
                        {"partner": (form.partner.data or "").strip().upper(),
                         "note": form.note.data or ""})
        except FormRefused as exc:
            refused.update(exc.fields)
            raise FormRefused(summary(form, refused), form, render, refused) from exc
        if refused:
            raise FormRefused(summary(form, refused), form, render, refused)
        item = load_item(current_user, int(form.item_id.data))
        return exchange.send_exhibit(current_user, item, **data)

    return submit(form, call, render=render, done=lambda t: (
        _("Item released to partner lab %(code)s (transfer %(id)s); the hub passes it on.",
          code=t.partner_code, id=t.transfer_id), url_for(".exhibits")))


@bp.post("/network/exhibits/<int:transfer_id>/receipt")
@login_required
def exhibit_receive(transfer_id: int) -> ResponseReturnValue:
    _node_only()
    transfer = exchange.transfer_in_lab(current_user, transfer_id)
    form = forms.ReceiveExhibitForm()

    def call(data: dict) -> ExhibitTransfer:
        case = get_in_lab(Case, data["case_id"], current_user, what="case")
        return exchange.receive_exhibit(current_user, transfer, case, reason=data["reason"])

    return submit(form, call, schema=forms.ReceiveExhibitForm.schema,
                  render=lambda bound: _exhibits(receive=(transfer.id, bound)),
                  done=lambda t: (_("Received from %(code)s as item %(item)s; %(code)s is told.",
                                    code=t.partner_code,
                                    item=db.session.get(Item, t.item_id).barcode),
                                  url_for(".exhibits")))


# -- the hub ---------------------------------------------------------------------------------


@bp.route("/hub")
@login_required
def hub_dashboard() -> ResponseReturnValue:
    if current_app.config["APP_ROLE"] != "hub":
        abort(404)
    require_role(current_user, OPERATE_HUB, "see the hub dashboard")
    return render_template("network/hub.html", dash=dashboard.build())


@bp.app_template_global()
def lead_count(status: str, n: int) -> str:
    """"2 open", "1 declined": each status counted as the reader's language counts (Spanish
    agrees the participle with "pistas": "1 abierta", "2 abiertas")."""
    count = number(n)  # grouped as the reader's language groups it
    return {
        LeadStatus.OPEN: lambda: ngettext("%(count)s open", "%(count)s open", n, count=count),
        LeadStatus.DISCLOSED: lambda: ngettext("%(count)s disclosed", "%(count)s disclosed", n,
                                               count=count),
        LeadStatus.EXHIBIT_REQUESTED: lambda: ngettext(
            "%(count)s with the exhibit requested", "%(count)s with the exhibit requested", n,
            count=count),
        LeadStatus.DECLINED: lambda: ngettext("%(count)s declined", "%(count)s declined", n,
                                              count=count),
        LeadStatus.EXPIRED: lambda: ngettext("%(count)s expired", "%(count)s expired", n,
                                             count=count),
    }[LeadStatus(status)]()
