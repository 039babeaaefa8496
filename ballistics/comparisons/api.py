"""JSON API of the comparison workflow."""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _

from ballistics.auth.access import get_in_lab
from ballistics.comparisons import confirmations, links, review, scans, searches, validation
from ballistics.comparisons import schemas as s
from ballistics.comparisons.models import (
    Candidate,
    CaseLink,
    Confirmation,
    LinkCorrection,
    Scan,
    Search,
)
from ballistics.core.api import ApiBlueprint
from ballistics.core.errors import Unprocessable
from ballistics.core.ratelimit import search_limit, upload_limit
from ballistics.evidence.custody import load_item
from ballistics.evidence.models import Case
from ballistics.extensions import db

bp = ApiBlueprint("comparisons_api", __name__, url_prefix="/api/v1")
TAGS = ["comparisons"]


@bp.operation("/items/<int:item_id>/scans", "POST", summary="Upload a scan (x3p, PNG or TIFF)",
              tags=TAGS, form=s.ScanUploadSchema, response=s.ScanSchema, status=201, also=(200,),
              errors=(403, 404, 409, 413, 422, 429))
@upload_limit
def scan_upload(item_id: int, data: dict):
    item = load_item(g.api_user, item_id)
    upload = request.files.get("file")
    if upload is None:
        raise Unprocessable(_("Attach the scan as the multipart field 'file'."),
                            fields={"file": [_("Missing file.")]})
    content = upload.read()
    scan, created = scans.upload_scan(g.api_user, item, data=content,
                                      filename=upload.filename or "upload", **data)
    return scan, (201 if created else 200)


@bp.operation("/items/<int:item_id>/scans", summary="Scans of an item", tags=TAGS,
              response=s.ScanSchema, many=True, errors=(404,))
def item_scans(item_id: int):
    item = load_item(g.api_user, item_id)
    return db.session.scalars(db.select(Scan).where(Scan.item_id == item.id)
                              .order_by(Scan.id)).all()


@bp.operation("/scans/<int:scan_id>", summary="A scan and its processing status", tags=TAGS,
              response=s.ScanSchema, errors=(404,))
def scan_get(scan_id: int):
    return get_in_lab(Scan, scan_id, g.api_user, what="scan")


@bp.operation("/scans/<int:scan_id>/retry", "POST",
              summary="Queue a failed scan's feature extraction again", tags=TAGS,
              response=s.ScanSchema, status=202, errors=(403, 404, 409))
def scan_retry(scan_id: int):
    return scans.retry_extraction(g.api_user, get_in_lab(Scan, scan_id, g.api_user, what="scan"))


@bp.operation("/searches/<int:search_id>/retry", "POST",
              summary="Run a failed search again (a new search; the failed one is kept)",
              tags=TAGS, response=s.SearchSchema, status=202, errors=(403, 404, 409, 429))
@search_limit
def search_retry(search_id: int):
    search = get_in_lab(Search, search_id, g.api_user, what="search")
    return searches.retry_search(g.api_user, search)


@bp.operation("/scans/<int:scan_id>/searches", "POST", summary="Search the lab's references",
              tags=TAGS, body=s.SearchCreateSchema, response=s.SearchSchema, status=202,
              errors=(403, 404, 409, 422, 429))
@search_limit
def search_create(scan_id: int, data: dict):
    scan = get_in_lab(Scan, scan_id, g.api_user, what="scan")
    return searches.start_search(g.api_user, scan, k=data["k"])


@bp.operation("/scans/<int:scan_id>/searches", summary="Searches of a scan", tags=TAGS,
              response=s.SearchSchema, many=True, errors=(404,))
def scan_searches(scan_id: int):
    scan = get_in_lab(Scan, scan_id, g.api_user, what="scan")
    return db.session.scalars(db.select(Search).where(Search.query_scan_id == scan.id)
                              .order_by(Search.id.desc())).all()


@bp.operation("/searches/<int:search_id>", summary="A search: progress and candidate list",
              tags=TAGS, response=s.SearchSchema, errors=(404,))
def search_get(search_id: int):
    return get_in_lab(Search, search_id, g.api_user, what="search")


@bp.operation("/candidates/<int:candidate_id>/decision", "POST",
              summary="Mark a candidate (no association / potential lead)", tags=TAGS,
              body=s.DecisionSchema, response=s.CandidateSchema, errors=(403, 404, 409, 422))
def candidate_decide(candidate_id: int, data: dict):
    candidate = get_in_lab(Candidate, candidate_id, g.api_user, what="candidate")
    return review.decide(g.api_user, candidate, data["decision"], data["note"])


@bp.operation("/candidates/<int:candidate_id>/confirm", "POST",
              summary="Record the microscope comparison of a lead: an examination under the "
                      "lab's hit-confirmation SOP, sent for its technical review (links "
                      "nothing until an independent reviewer agrees)", tags=TAGS,
              body=s.ConfirmSchema, response=s.ConfirmationSchema, status=201,
              errors=(403, 404, 409, 422))
def candidate_confirm(candidate_id: int, data: dict):
    candidate = get_in_lab(Candidate, candidate_id, g.api_user, what="candidate")
    return confirmations.confirm(g.api_user, candidate, **data)


@bp.operation("/confirmations", summary="Confirmations waiting for a technical review",
              tags=TAGS, response=s.ConfirmationSchema, many=True)
def confirmation_queue():
    return confirmations.queue(g.api_user)


@bp.operation("/confirmations/<int:confirmation_id>", summary="A confirmation", tags=TAGS,
              response=s.ConfirmationSchema, errors=(404,))
def confirmation_get(confirmation_id: int):
    return get_in_lab(Confirmation, confirmation_id, g.api_user, what="confirmation")


@bp.operation("/cases/<int:case_id>/links",
              summary="Cases linked by verified identifications, standing and withdrawn",
              tags=TAGS, response=s.CaseLinkSchema, many=True, errors=(404,))
def case_links(case_id: int):
    return links.links_for_case(get_in_lab(Case, case_id, g.api_user, what="case"))


@bp.operation("/case-links/<int:link_id>/corrections", "POST", tags=TAGS,
              summary="Ask for a case link to be withdrawn (an independent reviewer decides)",
              body=s.LinkCorrectionCreateSchema, response=s.LinkCorrectionSchema, status=201,
              errors=(403, 404, 409, 422))
def link_correction(link_id: int, data: dict):
    link = get_in_lab(CaseLink, link_id, g.api_user, what="case link")
    return links.request_withdrawal(g.api_user, link, **data)


@bp.operation("/link-corrections/<int:correction_id>/review", "POST", tags=TAGS,
              summary="Decide a correction: agree (the link is withdrawn) or disagree",
              body=s.LinkCorrectionReviewSchema, response=s.LinkCorrectionSchema,
              errors=(403, 404, 409, 422))
def link_correction_review(correction_id: int, data: dict):
    row = get_in_lab(LinkCorrection, correction_id, g.api_user, what="correction")
    return links.review_correction(g.api_user, row, **data)


@bp.operation("/comparison-settings", summary="The lab's hit-confirmation settings",
              tags=TAGS, response=s.SettingsSchema)
def settings_get():
    return confirmations.settings_of(g.api_user.lab_id)


@bp.operation("/comparison-settings", "PUT", tags=TAGS,
              summary="Choose the hit-confirmation SOP and blind verification (lab managers)",
              body=s.SettingsSchema, response=s.SettingsSchema, errors=(403, 422))
def settings_put(data: dict):
    return confirmations.update_settings(g.api_user, **data)


@bp.operation("/comparisons/validation", summary="How the scores were validated", tags=TAGS)
def validation_summary():
    """The calibration's method, domain and validation figures per data set (Cllr, Cllr_min,
    rates of misleading evidence, ECE curves), and the full calibration record."""
    cal = validation.calibration()
    return {**validation.summary(), "calibration": cal.to_dict(), "note": str(s.VALIDATION_NOTE)}
