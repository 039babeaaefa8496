"""Schemas of the comparison API."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import validate

from ballistics.comparisons.models import Decision, Region
from ballistics.core import fields
from ballistics.core.schema import BaseSchema, UtcDateTime, one_of
from ballistics.core.text import not_blank
from ballistics.evidence.models import ItemStatus
from sop.models import AfteResult
from sop.models.examinations import ReviewOutcome

REGIONS = one_of(*Region)
_required_text = validate.And(validate.Length(min=1, max=2000), not_blank)


class ScanUploadSchema(BaseSchema):
    """Form fields sent with the file (multipart/form-data)."""

    pixel_um = fields.Float(load_default=None, allow_none=True,
                            validate=validate.Range(min=0.05, max=100),
                            metadata={"description": "lateral pixel size; required for images"})
    region = fields.String(load_default="breech_face", validate=REGIONS)
    calibre = fields.String(load_default="", validate=validate.Length(max=40))
    firing_pin_shape = fields.String(load_default="", validate=validate.Length(max=40))
    breech_face_class = fields.String(load_default="", validate=validate.Length(max=40))
    open_case = fields.Boolean(load_default=True, data_key="open_case",
                               attribute="is_open_case")


class ScanSchema(BaseSchema):
    id = fields.Integer()
    item_id = fields.Integer()
    sha256 = fields.String()
    filename = fields.String()
    file_format = fields.String()
    size_bytes = fields.Integer()
    width = fields.Integer()
    height = fields.Integer()
    pixel_um = fields.Float()
    region = fields.String()
    calibre = fields.String()
    firing_pin_shape = fields.String()
    breech_face_class = fields.String()
    status = fields.String()
    status_reason = fields.String()
    is_open_case = fields.Boolean()
    created_at = UtcDateTime()
    features_at = UtcDateTime(allow_none=True)


class SearchCreateSchema(BaseSchema):
    k = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class CandidateSchema(BaseSchema):
    id = fields.Integer()
    rank = fields.Integer()
    reference_scan_id = fields.Integer()
    reference_item_id = fields.Function(lambda c: c.reference_scan.item_id)
    reference_case_id = fields.Function(lambda c: c.reference_scan.item.case_id)
    reference_barcode = fields.Function(lambda c: c.reference_scan.item.barcode)
    # A released or destroyed reference stays admissible (see searches.reference_query) but
    # its exhibit cannot be examined again: API clients see it, as the pages show it.
    reference_item_status = fields.String(
        attribute="reference_scan.item.status", validate=one_of(*ItemStatus),
        metadata={"description": "the reference exhibit's state: released or destroyed "
                                 "items cannot be examined again"})
    signature_similarity = fields.Float()
    score = fields.Float()
    cmc_count = fields.Integer()
    cmc_count_reverse = fields.Integer()
    pairwise_ccf = fields.Float()
    likelihood_ratio = fields.Float(allow_none=True, metadata={
        "description": "null outside the calibration's domain (lr_note says why)"})
    lr_note = fields.String(attribute="lr_said", metadata={
        "description": "why there is no LR (empty with one), in the caller's language "
                       "(their account's, else Accept-Language)"})
    rotation_deg = fields.Float()
    dx_px = fields.Float()
    dy_px = fields.Float()
    decision = fields.String()
    decision_note = fields.String()


class SearchSchema(BaseSchema):
    id = fields.Integer()
    query_scan_id = fields.Integer()
    scope = fields.String()
    algorithm_version = fields.String()
    k = fields.Integer()
    status = fields.String()
    error = fields.String()
    n_references = fields.Integer()
    progress_done = fields.Integer()
    progress_total = fields.Integer()
    stage1_ms = fields.Float(allow_none=True)
    stage2_ms = fields.Float(allow_none=True)
    is_automatic = fields.Boolean()
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    candidates = fields.List(fields.Nested(CandidateSchema))
    validation = fields.Function(lambda s: str(VALIDATION_NOTE))


#: lazy: said in the reader's language (str() of it where it leaves as JSON)
VALIDATION_NOTE = _l("Scores rank candidates for an examiner's review; they are not an "
                     "identification. Likelihood ratios come from the calibration shipped with "
                     "the algorithm version, validated on firearms it was not fitted on (see GET "
                     "/api/v1/comparisons/validation); outside its domain no LR is given.")


class DecisionSchema(BaseSchema):
    decision = fields.String(required=True,
                             validate=one_of(Decision.NO_ASSOCIATION,
                                             Decision.POTENTIAL_LEAD))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class StepDoneSchema(BaseSchema):
    step_id = fields.Integer(required=True)
    value = fields.Float(load_default=None, allow_none=True,
                         metadata={"description": "the measured value, where the step asks"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ConfirmSchema(BaseSchema):
    """The examiner's microscope comparison of a lead (an examination under the lab's
    hit-confirmation SOP, submitted for its technical review)."""

    conclusion = fields.String(required=True, validate=one_of(*AfteResult),
                               metadata={"description": "the AFTE conclusion reached"})
    equipment_ids = fields.List(fields.Integer(), load_default=list)
    steps = fields.List(fields.Nested(StepDoneSchema), load_default=list,
                        metadata={"description": "the SOP's steps done, with their values"})
    notes = fields.String(load_default="", validate=validate.Length(max=5000),
                          metadata={"description": "the basis for the conclusion"})


class ConfirmationSchema(BaseSchema):
    """A confirmation; its examination (and, unless blind to you, its conclusion) is at
    GET /api/v1/examinations/{examination_id}."""

    id = fields.Integer()
    candidate_id = fields.Integer()
    examination_id = fields.Integer()
    status = fields.String()
    created_by_id = fields.Integer()
    created_at = UtcDateTime()
    reviewed_at = UtcDateTime(allow_none=True)
    is_blind_review = fields.Function(lambda c: c.examination.is_blind_review)
    item_ids = fields.Function(lambda c: [i.id for i in c.examination.items])


class LinkCorrectionCreateSchema(BaseSchema):
    reason = fields.String(required=True, validate=_required_text)


class LinkCorrectionReviewSchema(BaseSchema):
    outcome = fields.String(required=True, validate=one_of(ReviewOutcome.AGREE,
                                                            ReviewOutcome.DISAGREE),
                            metadata={"description": "agree: withdraw the link"})
    reasons = fields.String(required=True, validate=_required_text)


class LinkCorrectionSchema(BaseSchema):
    id = fields.Integer()
    link_id = fields.Integer()
    reason = fields.String()
    status = fields.String()
    requested_by_id = fields.Integer()
    requested_at = UtcDateTime()
    reviewed_by_id = fields.Integer(allow_none=True)
    review_reasons = fields.String()
    reviewed_at = UtcDateTime(allow_none=True)


class CaseLinkSchema(BaseSchema):
    id = fields.Integer()
    case_a_id = fields.Integer()
    case_b_id = fields.Integer()
    candidate_id = fields.Integer()
    examination_id = fields.Integer(allow_none=True)
    review_id = fields.Integer(allow_none=True)
    conclusion = fields.String()
    confirmed_by_id = fields.Integer()
    reviewed_by_id = fields.Integer()
    created_at = UtcDateTime()
    is_active = fields.Boolean()
    withdrawn_at = UtcDateTime(allow_none=True)
    withdrawal_note = fields.String()
    corrections = fields.List(fields.Nested(LinkCorrectionSchema))


class SettingsSchema(BaseSchema):
    confirmation_sop_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the SOP leads are confirmed under (its version in force is used)"})
    is_blind_verification = fields.Boolean(required=True, metadata={
        "description": "verifiers record their own conclusion before they see the examiner's"})
    updated_by_id = fields.Integer(dump_only=True, allow_none=True)
    updated_at = UtcDateTime(dump_only=True, allow_none=True)
