"""Comparison pages (server-rendered): a routing table. Records are looked up in the user's lab;
forms go to the same services as the API; images are rendered from the stored features."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from ballistics.auth.access import get_in_lab
from ballistics.comparisons import (
    confirmations,
    forms,
    lists,
    panels,
    render,
    review,
    scans,
    searches,
    validation,
)
from ballistics.comparisons import schemas as s
from ballistics.comparisons.models import (
    Candidate,
    Scan,
    Search,
    SearchScope,
    SearchStatus,
)
from ballistics.core.forms import FormRefused, load, submit, summary
from ballistics.core.labels import label
from ballistics.core.pagination import listed, page_filters
from ballistics.core.ratelimit import search_limit, upload_limit
from ballistics.core.validation_messages import localize_all
from ballistics.evidence.custody import load_item
from ballistics.evidence.models import Item
from ballistics.evidence.views import item_page_html
from ballistics.imaging import ALGORITHM_VERSION

bp = Blueprint("comparisons", __name__)
bp.add_app_template_global(panels.item_scans, "item_scans")
bp.add_app_template_global(panels.linked_cases, "linked_cases")
bp.add_app_template_global(forms.may_verify, "may_verify")
bp.add_app_template_global(forms.AFTE_LABELS, "afte_labels")
bp.add_app_template_filter(panels.likelihood_ratio, "lr")


def _scan(scan_id: int) -> Scan:
    return get_in_lab(Scan, scan_id, current_user, what="scan")


def _search(search_id: int) -> Search:
    return get_in_lab(Search, search_id, current_user, what="search")


def _candidate(candidate_id: int) -> Candidate:
    return get_in_lab(Candidate, candidate_id, current_user, what="candidate")


def _png(data: bytes, etag: str) -> Response:
    # Features are immutable per (content, algorithm version) and a candidate's registration
    # never changes, so the browser may keep images; "private" because they are case material.
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.set_etag(etag)
    return response.make_conditional(request)


@bp.post("/items/<int:item_id>/scans")
@login_required
@upload_limit
def scan_upload(item_id: int) -> ResponseReturnValue:
    item = load_item(current_user, item_id)
    page = url_for("evidence.item_page", item_id=item.id, _anchor="scans")
    form = forms.ScanUploadForm()

    def render(bound: forms.ScanUploadForm) -> str:
        return item_page_html(item, scan_upload=bound)

    def call(data: dict) -> tuple[Scan, bool]:
        upload = data.pop("file", None)
        if not upload or not upload.filename:
            missing = {"file": [_("Choose the scan file to upload.")]}
            raise FormRefused(summary(form, missing), form, render, missing)
        return scans.upload_scan(current_user, item, data=upload.read(),
                                 filename=upload.filename,
                                 **load(form, s.ScanUploadSchema, render, data))

    def done(result: tuple[Scan, bool]) -> tuple[str, str]:
        scan, created = result
        if not created:
            return _("This file is already scan %(id)s of this item.", id=scan.id), page
        return _("Scan %(id)s uploaded; its features are being computed.", id=scan.id), page

    return submit(form, call, render=render, done=done)


@bp.route("/scans/<int:scan_id>/status.json")
@login_required
def scan_status(scan_id: int) -> ResponseReturnValue:
    scan = _scan(scan_id)
    # label and reason as the page says them (the poller shows them in the reader's language,
    # not the code and the stored English)
    return jsonify(status=scan.status, label=label(scan.status), reason=scan.status_said,
                   final=scan.status in panels.FINAL)


@bp.route("/scans/<int:scan_id>/surface.png")
@login_required
def scan_surface(scan_id: int) -> ResponseReturnValue:
    scan = _scan(scan_id)
    return _png(render.surface_png(scan), f"scan-{scan.sha256}-{ALGORITHM_VERSION}")


@bp.post("/scans/<int:scan_id>/searches")
@login_required
@search_limit
def search_start(scan_id: int) -> ResponseReturnValue:
    scan = _scan(scan_id)
    return submit(forms.ButtonForm(), lambda _data: searches.start_search(current_user, scan),
                  render=lambda _form: item_page_html(scan.item),
                  done=lambda search: (_("Search %(id)s started.", id=search.id),
                                       url_for(".search_page", search_id=search.id)))


@bp.post("/scans/<int:scan_id>/retry")
@login_required
def scan_retry(scan_id: int) -> ResponseReturnValue:
    scan = _scan(scan_id)
    page = url_for("evidence.item_page", item_id=scan.item_id, _anchor="scans")
    return submit(forms.ButtonForm(), lambda _data: scans.retry_extraction(current_user, scan),
                  render=lambda _form: item_page_html(scan.item),
                  done=lambda s: (_("Scan %(id)s queued again.", id=s.id), page))


@bp.post("/searches/<int:search_id>/retry")
@login_required
@search_limit
def search_retry(search_id: int) -> ResponseReturnValue:
    search = _search(search_id)
    return submit(forms.ButtonForm(), lambda _data: searches.retry_search(current_user, search),
                  render=lambda _form: _search_page(search),
                  done=lambda new: (_("Search %(id)s started again.", id=new.id),
                                    url_for(".search_page", search_id=new.id)))


@bp.route("/searches")
@login_required
def search_list() -> ResponseReturnValue:
    filters = page_filters(lists.SearchFilterSchema)
    page = listed(filters, lambda: lists.searches_select(current_user, filters),
                  order_by=lists.SEARCH_ORDER, scalars=False)
    item = (get_in_lab(Item, filters["item_id"], current_user, what="item")
            if filters.get("item_id") and not filters.refused else None)
    return render_template("comparisons/search_list.html", page=page, filters=filters,
                           item=item, statuses=[x.value for x in SearchStatus],
                           scopes=[x.value for x in SearchScope]), filters.status


@bp.route("/searches/<int:search_id>")
@login_required
def search_page(search_id: int) -> ResponseReturnValue:
    return _search_page(_search(search_id))


def _search_page(search: Search) -> str:
    may_review = forms.may_review(current_user)
    return render_template("comparisons/search.html", search=search,
                           candidates=panels.candidates(search), note=s.VALIDATION_NOTE,
                           calibration=searches.calibration().description,
                           decision=forms.DecisionForm(formdata=None) if may_review else None,
                           retry=forms.ButtonForm(formdata=None) if may_review else None)


@bp.route("/searches/<int:search_id>/status.json")
@login_required
def search_status(search_id: int) -> ResponseReturnValue:
    search = _search(search_id)
    return jsonify(status=search.status, label=label(search.status), reason=search.error_said,
                   done=search.progress_done,
                   total=search.progress_total, final=search.status in panels.FINAL)


@bp.route("/candidates/<int:candidate_id>/view")
@login_required
def candidate_view(candidate_id: int) -> ResponseReturnValue:
    return _viewer(_candidate(candidate_id))


def _viewer(candidate: Candidate, confirm: forms.ConfirmForm | None = None) -> str:
    may_review = forms.may_review(current_user)
    panel = panels.confirm_panel(candidate, confirm)
    return render_template(
        "comparisons/viewer.html", c=candidate, search=candidate.search,
        note=s.VALIDATION_NOTE, panel=panel, **render.stage_context(candidate),
        decision=forms.DecisionForm(formdata=None) if may_review and panel.current is None
        else None)


@bp.route("/comparisons/validation")
@login_required
def validation_page() -> ResponseReturnValue:
    return render_template("comparisons/validation.html", v=validation.summary(),
                           description=validation.description_said(),
                           shipped=validation.shipped_said, note=s.VALIDATION_NOTE)


@bp.route("/candidates/<int:candidate_id>/aligned.png")
@login_required
def candidate_aligned(candidate_id: int) -> ResponseReturnValue:
    candidate = _candidate(candidate_id)
    return _png(render.aligned_png(candidate),
                f"candidate-{candidate.id}-{candidate.reference_scan.sha256}")


@bp.post("/candidates/<int:candidate_id>/decision")
@login_required
def candidate_decide(candidate_id: int) -> ResponseReturnValue:
    candidate = _candidate(candidate_id)
    back = _back(candidate)
    from_list = request.form.get("from") == "list"
    return submit(forms.DecisionForm(), lambda data: review.decide(current_user, candidate, **data),
                  schema=s.DecisionSchema,
                  render=lambda _form: (_search_page(candidate.search) if from_list
                                        else _viewer(candidate)),
                  done=lambda c: (_("Candidate %(rank)s marked: %(decision)s.", rank=c.rank,
                                    decision=label(c.decision)), back))


@bp.post("/candidates/<int:candidate_id>/confirm")
@login_required
def candidate_confirm(candidate_id: int) -> ResponseReturnValue:
    candidate = _candidate(candidate_id)
    form = panels.confirm_form_for(candidate)

    def render(bound: forms.ConfirmForm) -> str:
        return _viewer(candidate, bound)

    def call(_data: dict):
        try:
            data = s.ConfirmSchema().load(form.api_input())
        except ValidationError as exc:
            messages = localize_all(form.page_messages(exc.messages))
            raise FormRefused(summary(form, messages), form, render, messages) from exc
        return confirmations.confirm(current_user, candidate, **data)

    return submit(form, call, render=render,
                  done=lambda row: (_("Examination %(id)s recorded and sent for verification: the "
                                      "cases are linked only if an independent reviewer agrees.",
                                      id=row.examination_id),
                                    url_for(".candidate_view", candidate_id=candidate.id)))


def _back(candidate: Candidate) -> str:
    # Mark forms sit on the candidate list and on the viewer: go back to the one used.
    if request.form.get("from") == "list":
        return url_for(".search_page", search_id=candidate.search_id, _anchor=f"c{candidate.id}")
    return url_for(".candidate_view", candidate_id=candidate.id)


# The reviewer's queue and review page, case-link corrections and the settings live in their own
# module on the same blueprint (imported last: it uses this module's helpers).
from ballistics.comparisons import verification_views  # noqa: E402, F401
