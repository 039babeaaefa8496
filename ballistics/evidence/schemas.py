"""Marshmallow schemas for the evidence API: explicit field lists, unknown fields refused."""

from __future__ import annotations

from datetime import date, timedelta

from marshmallow import ValidationError, validate

from ballistics.core import fields
from ballistics.core.schema import BaseSchema, UtcDateTime, one_of
from ballistics.core.text import not_blank
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import DisposalAction, ItemKind, OverrideReason

_text = {"validate": validate.Length(max=200)}
_kinds = one_of(*ItemKind)


def required_text(max_length: int) -> validate.Validator:
    """Required free text: at least one character that is not a space, at most ``max_length``."""
    return validate.And(validate.Length(min=1, max=max_length), not_blank)


def not_in_the_future(day: date) -> None:
    # Labs have no time zone setting yet: a date is refused only when it has not begun anywhere
    # on Earth (UTC+14 is the furthest ahead), so a lab east of Greenwich can enter its today.
    if day > (utcnow() + timedelta(hours=14)).date():
        raise ValidationError("Must not be in the future.")


class CaseCreateSchema(BaseSchema):
    submitting_agency = fields.String(required=True, validate=required_text(200))
    agency_case_number = fields.String(load_default="", validate=validate.Length(max=80))
    offence = fields.String(load_default="", **_text)
    offence_date = fields.Date(load_default=None, allow_none=True, validate=not_in_the_future)
    notes = fields.String(load_default="", validate=validate.Length(max=5000))


class ItemSchema(BaseSchema):
    id = fields.Integer()
    case_id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    number = fields.String()
    barcode = fields.String()
    kind = fields.String()
    description = fields.String()
    quantity = fields.Integer()
    make = fields.String()
    model = fields.String()
    serial_number = fields.String()
    calibre = fields.String()
    is_serial_obliterated = fields.Boolean()
    status = fields.String()
    is_sealed = fields.Function(lambda item: item.intact_seal is not None)
    holder = fields.Method("_holder")
    custody_seq = fields.Integer()
    created_at = UtcDateTime()

    def _holder(self, item) -> dict:
        if item.holder_user_id:
            kind, ident = "user", item.holder_user_id
        elif item.holder_location_id:
            kind, ident = "location", item.holder_location_id
        elif item.holder_agency:
            kind, ident = "agency", None
        else:
            kind, ident = "none", None
        return {"type": kind, "id": ident, "label": item.holder_label}


class CaseSchema(BaseSchema):
    id = fields.Integer()
    lab_case_number = fields.String()
    agency_case_number = fields.String()
    submitting_agency = fields.String()
    offence = fields.String()
    offence_date = fields.Date(allow_none=True)
    notes = fields.String()
    created_at = UtcDateTime()
    items = fields.List(fields.Nested(ItemSchema))


class _ItemFacts(BaseSchema):
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))
    make = fields.String(load_default="", validate=validate.Length(max=80))
    model = fields.String(load_default="", validate=validate.Length(max=80))
    serial_number = fields.String(load_default="", validate=validate.Length(max=80))
    calibre = fields.String(load_default="", validate=validate.Length(max=40))
    is_serial_obliterated = fields.Boolean(load_default=False)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class ItemReceiveSchema(_ItemFacts):
    kind = fields.String(required=True, validate=_kinds)
    from_agency = fields.String(required=True, validate=required_text(200))


class _Op(BaseSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    expected_seq = fields.Integer(load_default=None, allow_none=True,
                                  metadata={"description": "refuse if the item has moved on"})


class TransferSchema(_Op):
    to_user_id = fields.Integer(required=True)


class StoreSchema(_Op):
    location_id = fields.Integer(required=True)


class CheckOutSchema(_Op):
    to_user_id = fields.Integer(load_default=None, allow_none=True)


class SealSchema(_Op):
    seal_number = fields.String(required=True, validate=required_text(80))


class UnsealSchema(_Op):
    reason = fields.String(required=True, validate=required_text(2000))


class SampleSchema(_ItemFacts):
    kind = fields.String(required=True, validate=_kinds)
    expected_seq = fields.Integer(load_default=None, allow_none=True)


class ReleaseSchema(_Op):
    to_agency = fields.String(required=True, validate=required_text(200))
    reason = fields.String(required=True, validate=required_text(2000))


class DestroySchema(_Op):
    witness_id = fields.Integer(load_default=None, allow_none=True)
    reason = fields.String(required=True, validate=required_text(2000))
    method = fields.String(load_default="", validate=validate.Length(max=200))


class DisposalRequestCreateSchema(BaseSchema):
    action = fields.String(required=True, validate=one_of(*DisposalAction))
    override_reason = fields.String(required=True, validate=one_of(*OverrideReason),
                                    metadata={"description": "why the holder cannot do it"})
    reason = fields.String(required=True, validate=required_text(2000),
                           metadata={"description": "the circumstances, e.g. the court order"})
    to_agency = fields.String(load_default="", validate=validate.Length(max=200),
                              metadata={"description": "release: the receiving agency"})
    witness_id = fields.Integer(load_default=None, allow_none=True,
                                metadata={"description": "destruction: the witness"})
    method = fields.String(load_default="", validate=validate.Length(max=200))
    expected_seq = fields.Integer(load_default=None, allow_none=True,
                                  metadata={"description": "refuse if the item has moved on"})


class DisposalRequestSchema(BaseSchema):
    id = fields.Integer()
    item_id = fields.Integer()
    action = fields.String()
    override_reason = fields.String()
    reason = fields.String()
    to_agency = fields.String()
    witness_id = fields.Integer(allow_none=True)
    method = fields.String()
    status = fields.String()
    requested_by_id = fields.Integer()
    requested_at = UtcDateTime()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    event_id = fields.Integer(allow_none=True)


class CustodyEventSchema(BaseSchema):
    id = fields.Integer()
    item_id = fields.Integer()
    seq = fields.Integer()
    kind = fields.String()
    from_user_id = fields.Integer(allow_none=True)
    from_location_id = fields.Integer(allow_none=True)
    from_agency = fields.String(allow_none=True)
    to_user_id = fields.Integer(allow_none=True)
    to_location_id = fields.Integer(allow_none=True)
    to_agency = fields.String(allow_none=True)
    actor_id = fields.Integer()
    witness_id = fields.Integer(allow_none=True)
    reason = fields.String()
    details = fields.Dict()
    occurred_at = UtcDateTime()
    prev_hash = fields.String()
    hash = fields.String()


class ChainVerificationSchema(BaseSchema):
    ok = fields.Boolean()
    events = fields.Integer()
    broken_event_id = fields.Integer(allow_none=True)
    broken_seq = fields.Integer(allow_none=True)
    reason = fields.String()


class LocationCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=required_text(40))
    name = fields.String(required=True, validate=required_text(200))


class LocationSchema(BaseSchema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    is_active = fields.Boolean()
