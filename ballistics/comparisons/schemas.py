"""Schemas of the comparison API."""

from __future__ import annotations

from marshmallow import validate

from ballistics.comparisons.models import Decision, LinkConclusion, Region
from ballistics.core import fields
from ballistics.core.schema import BaseSchema, UtcDateTime, one_of

REGIONS = one_of(*Region)


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
    signature_similarity = fields.Float()
    score = fields.Float()
    cmc_count = fields.Integer()
    cmc_count_reverse = fields.Integer()
    pairwise_ccf = fields.Float()
    likelihood_ratio = fields.Float(allow_none=True, metadata={
        "description": "null outside the calibration's domain (lr_note says why)"})
    lr_note = fields.String()
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
    validation = fields.Function(lambda s: VALIDATION_NOTE)


VALIDATION_NOTE = ("Scores rank candidates for an examiner's review; they are not an "
                   "identification. Likelihood ratios come from the calibration shipped with "
                   "the algorithm version, validated on firearms it was not fitted on (see GET "
                   "/api/v1/comparisons/validation); outside its domain no LR is given.")


class DecisionSchema(BaseSchema):
    decision = fields.String(required=True,
                             validate=one_of(Decision.NO_ASSOCIATION,
                                             Decision.POTENTIAL_LEAD))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ConfirmSchema(BaseSchema):
    conclusion = fields.String(required=True, validate=one_of(*LinkConclusion))
    reviewer_id = fields.Integer(required=True)
    examination_ref = fields.String(load_default="", validate=validate.Length(max=80))


class CaseLinkSchema(BaseSchema):
    id = fields.Integer()
    case_a_id = fields.Integer()
    case_b_id = fields.Integer()
    candidate_id = fields.Integer()
    conclusion = fields.String()
    examination_ref = fields.String()
    confirmed_by_id = fields.Integer()
    reviewed_by_id = fields.Integer()
    created_at = UtcDateTime()
