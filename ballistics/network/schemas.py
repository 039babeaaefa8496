"""Schemas of the hub's wire API (node to hub) and of the node's own API (examiners)."""

from __future__ import annotations

import base64
import binascii

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, post_dump, validate, validates_schema

from ballistics.comparisons.models import Region
from ballistics.comparisons.validation import lr_reason
from ballistics.core import fields
from ballistics.core.schema import BaseSchema, UtcDateTime, one_of
from ballistics.core.text import not_blank
from ballistics.network.models import LeadStatus, ShareMode

_code = validate.Regexp(r"^[A-Z0-9-]{2,16}$", error=_l("A lab code (A-Z, 0-9, -)."))


class Base64(fields.Field):
    """Bytes on the wire as standard base64 text."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else base64.b64encode(value).decode()

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Base64 text expected.")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError("Not valid base64.") from exc


# -- node -> hub -------------------------------------------------------------------------------


class RecordIn(BaseSchema):
    record_id = fields.Integer(required=True, validate=validate.Range(min=1))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    reference = fields.String(required=True, validate=validate.Length(min=4, max=40))
    algorithm_version = fields.String(required=True, validate=validate.Length(min=1, max=40))
    region = fields.String(required=True, validate=one_of(*Region))
    calibre = fields.String(load_default="", validate=validate.Length(max=40))
    firing_pin_shape = fields.String(load_default="", validate=validate.Length(max=40))
    breech_face_class = fields.String(load_default="", validate=validate.Length(max=40))
    shared_with = fields.List(fields.String(validate=validate.Length(min=1, max=16)),
                              required=True, validate=validate.Length(min=1, max=200))
    scanned_at = fields.NaiveDateTime(required=True)
    signature = Base64(required=True)
    features = Base64(required=True)


class WithdrawIn(BaseSchema):
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class OperationIn(BaseSchema):
    """One step of a batch: publish a record (``record``) or withdraw one (``record_id`` and
    ``version``)."""

    op = fields.String(required=True, validate=validate.OneOf(["publish", "withdraw"]))
    record = fields.Nested(RecordIn, load_default=None)
    record_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    version = fields.Integer(load_default=None, validate=validate.Range(min=1))

    @validates_schema
    def _complete(self, data, **_kwargs):
        if data["op"] == "publish" and data["record"] is None:
            raise ValidationError("A publish carries its record.", "record")
        if data["op"] == "withdraw" and (data["record_id"] is None or data["version"] is None):
            raise ValidationError("A withdrawal names record_id and version.", "record_id")


class BatchIn(BaseSchema):
    operations = fields.List(fields.Nested(OperationIn), required=True,
                             validate=validate.Length(min=1, max=100))


class BatchOut(BaseSchema):
    results = fields.List(fields.Dict())


class SearchIn(BaseSchema):
    request_ref = fields.Integer(required=True, validate=validate.Range(min=1))
    algorithm_version = fields.String(required=True, validate=validate.Length(min=1, max=40))
    region = fields.String(required=True, validate=one_of(*Region))
    calibre = fields.String(load_default="", validate=validate.Length(max=40))
    k = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    signature = Base64(required=True)
    features = Base64(required=True)


class LeadIn(BaseSchema):
    request_ref = fields.Integer(required=True, validate=validate.Range(min=1))
    search_id = fields.Integer(required=True, validate=validate.Range(min=1))
    record = fields.Integer(required=True, validate=validate.Range(min=1))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class AnswerIn(BaseSchema):
    status = fields.String(required=True, validate=one_of(
        LeadStatus.DISCLOSED, LeadStatus.EXHIBIT_REQUESTED, LeadStatus.DECLINED))
    answer = fields.String(load_default="", validate=validate.Length(max=4000))


class InboxQuery(BaseSchema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class Stored(BaseSchema):
    id = fields.Integer()
    stored = fields.Boolean()


class HubSearchOut(BaseSchema):
    id = fields.Integer()
    status = fields.String()
    error = fields.String()
    n_references = fields.Integer()
    candidates = fields.List(fields.Dict())
    finished_at = UtcDateTime(allow_none=True)


class HubLeadOut(BaseSchema):
    id = fields.Integer()
    status = fields.String()
    due_at = UtcDateTime()


class EventOut(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    #: the body with the payload the hub still holds (a transfer's description and proofs)
    body = fields.Dict(attribute="delivery")
    created_at = UtcDateTime()


class MemberLabOut(BaseSchema):
    code = fields.String()
    name = fields.String()
    country = fields.String()


# -- examiners and managers at a node -----------------------------------------------------------


class PolicyIn(BaseSchema):
    mode = fields.String(required=True, validate=one_of(*ShareMode))
    partners = fields.List(fields.String(validate=_code), load_default=list,
                           validate=validate.Length(max=200))
    offence_contains = fields.List(fields.String(validate=validate.Length(min=2, max=80)),
                                   load_default=list, validate=validate.Length(max=50))
    agency_contains = fields.List(fields.String(validate=validate.Length(min=2, max=80)),
                                  load_default=list, validate=validate.Length(max=50))


class PolicyOut(BaseSchema):
    mode = fields.String()
    partners = fields.List(fields.String())
    offence_contains = fields.List(fields.String())
    agency_contains = fields.List(fields.String())


class ExclusionIn(BaseSchema):
    case_id = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class WithdrawShareIn(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class LiftExclusionIn(WithdrawShareIn):
    """Why an exclusion ends (e.g. the judge lifted the seal)."""


class ExclusionOut(BaseSchema):
    id = fields.Integer()
    case_id = fields.Integer(allow_none=True)
    scan_id = fields.Integer(allow_none=True)
    reason = fields.String()
    created_at = UtcDateTime()
    lifted_at = UtcDateTime(allow_none=True)
    lift_reason = fields.String(allow_none=True)


class WithdrawShareOut(BaseSchema):
    scan_id = fields.Integer()
    reference = fields.String()
    withdrawn = fields.Boolean()


class PartnerSearchIn(BaseSchema):
    k = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PartnerSearchOut(BaseSchema):
    id = fields.Integer()
    scan_id = fields.Integer()
    status = fields.String()
    # as the candidates' lr_note: in the caller's language where this node wrote the reason
    error = fields.String(attribute="error_said", metadata={
        "description": "why the search failed, in the caller's language (their account's, "
                       "else Accept-Language) where this node wrote it; the hub's own reasons "
                       "as the hub gave them"})
    n_references = fields.Integer()
    candidates = fields.List(fields.Dict(), metadata={
        "description": "the hub's answer; a candidate's lr_note (why there is no LR) in the "
                       "caller's language (their account's, else Accept-Language)"})
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)

    @post_dump
    def _notes_said(self, data: dict, **kwargs) -> dict:
        # The hub sends each note in English with its wording: the caller reads the note in
        # their language, as a lab candidate's; the wording itself stays off the API.
        data["candidates"] = [
            {**{k: v for k, v in c.items() if k != "lr_wording"},
             "lr_note": lr_reason(c.get("lr_wording"), c.get("lr_note", ""))}
            for c in data.get("candidates", [])]
        return data


class LeadRequestIn(BaseSchema):
    record = fields.Integer(required=True, validate=validate.Range(min=1))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class LeadAnswerIn(AnswerIn):
    pass


class PartnerLeadOut(BaseSchema):
    id = fields.Integer()
    direction = fields.String()
    partner_code = fields.String()
    reference = fields.String()
    scan_id = fields.Integer(allow_none=True)
    score = fields.Float()
    likelihood_ratio = fields.Float(allow_none=True)
    note = fields.String()
    status = fields.String()
    answer = fields.String()
    due_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    answered_at = UtcDateTime(allow_none=True)


class AccessOut(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    partner_code = fields.String()
    references = fields.List(fields.String())
    occurred_at = UtcDateTime()


# -- interchange -------------------------------------------------------------------------------


class ImportIn(BaseSchema):
    """Form fields sent with an x3p file imported as a reference (multipart/form-data)."""

    source_lab = fields.String(required=True, validate=validate.And(
        validate.Length(min=1, max=200), not_blank),
        metadata={"description": "the lab or system the file comes from"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    region = fields.String(load_default="breech_face", validate=one_of(*Region))
    calibre = fields.String(load_default="", validate=validate.Length(max=40))
    firing_pin_shape = fields.String(load_default="", validate=validate.Length(max=40))
    breech_face_class = fields.String(load_default="", validate=validate.Length(max=40))


class ProvenanceOut(BaseSchema):
    id = fields.Integer()
    scan_id = fields.Integer()
    original_sha256 = fields.String()
    original_filename = fields.String()
    source_lab = fields.String()
    scanned_by = fields.String()
    measured_at = fields.String()
    system = fields.String()
    instrument_serial = fields.String()
    calibration_date = fields.String()
    record2 = fields.Dict()
    pixel_um_x = fields.Float()
    pixel_um_y = fields.Float()
    note = fields.String()
    imported_by_id = fields.Integer()
    imported_at = UtcDateTime()



# -- physical exchange -------------------------------------------------------------------------


class HubTransferIn(BaseSchema):
    transfer_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    receiver = fields.String(required=True, validate=_code)
    item_kind = fields.String(required=True, validate=validate.Length(min=1, max=40))
    calibre = fields.String(load_default="", validate=validate.Length(max=40))
    seal_number = fields.String(load_default="", validate=validate.Length(max=80))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    #: the release's proof (``ballistics.network.exchange_proof``), checked by the hub
    proof = fields.Dict(required=True)


class HubReceiptIn(BaseSchema):
    sender = fields.String(required=True, validate=_code)
    transfer_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    receipt_event_id = fields.Integer(required=True, validate=validate.Range(min=1))
    receipt_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    receipt_leaf_index = fields.Integer(required=True, validate=validate.Range(min=0))
    proof = fields.Dict(required=True)


class HubTransferOut(BaseSchema):
    id = fields.Integer()
    transfer_id = fields.String()
    sender_code = fields.String()
    receiver_code = fields.String()
    status = fields.String()
    release_hash = fields.String()
    release_leaf_index = fields.Integer()
    receipt_hash = fields.String(allow_none=True)
    receipt_leaf_index = fields.Integer(allow_none=True)


class SendExhibitIn(BaseSchema):
    partner = fields.String(required=True, validate=_code)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    expected_seq = fields.Integer(load_default=None, allow_none=True,
                                  validate=validate.Range(min=1, max=2**31 - 1))


class ReceiveExhibitIn(BaseSchema):
    case_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class ExhibitTransferOut(BaseSchema):
    id = fields.Integer()
    direction = fields.String()
    transfer_id = fields.String()
    partner_code = fields.String()
    status = fields.String()
    item_kind = fields.String()
    calibre = fields.String()
    seal_number = fields.String()
    note = fields.String()
    item_id = fields.Integer(allow_none=True)
    release_event_id = fields.Integer(allow_none=True)
    release_hash = fields.String()
    release_leaf_index = fields.Integer(allow_none=True)
    release_verified = fields.Boolean()
    verification = fields.String()
    receipt_event_id = fields.Integer(allow_none=True)
    receipt_hash = fields.String()
    receipt_leaf_index = fields.Integer(allow_none=True)
    receipt_verified = fields.Boolean()
    created_at = UtcDateTime()
    received_at = UtcDateTime(allow_none=True)
    last_error = fields.String()
