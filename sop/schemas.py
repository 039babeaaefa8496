"""Marshmallow schemas for the SOP and quality API: explicit fields, unknown fields refused."""

from __future__ import annotations

from datetime import UTC

from flask_babel import gettext as _
from marshmallow import ValidationError, validate, validates_schema

from ballistics.core import fields
from ballistics.core.schema import BaseSchema, UtcDateTime, one_of
from ballistics.core.text import not_blank
from sop.models import AfteResult
from sop.models.complaints import (
    ComplainantKind,
    ComplaintChannel,
    ComplaintDecision,
    ComplaintStatus,
)
from sop.models.equipment import CalibrationKind, EquipmentKind
from sop.models.examinations import ReviewOutcome
from sop.models.quality import ActionKind, Severity

_short = validate.Length(min=1, max=200)


class UtcIn(fields.AwareDateTime):
    """Accept an ISO timestamp (no offset means UTC) and hold it as naive UTC, like the
    ``*_at`` columns."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC).replace(
            tzinfo=None)
_text = validate.Length(max=20000)


class StepInSchema(BaseSchema):
    title = fields.String(required=True, validate=_short)
    instruction = fields.String(load_default="", validate=_text)
    is_value_required = fields.Boolean(load_default=False)
    value_label = fields.String(load_default="", validate=validate.Length(max=120))
    unit = fields.String(load_default="", validate=validate.Length(max=30))
    min_value = fields.Float(load_default=None, allow_none=True)
    max_value = fields.Float(load_default=None, allow_none=True)

    @validates_schema
    def _value_label(self, data, **kwargs):
        if data.get("is_value_required") and not data.get("value_label"):
            raise ValidationError("Name the value the step must record.", "value_label")


class StepSchema(BaseSchema):
    id = fields.Integer()
    position = fields.Integer()
    title = fields.String()
    instruction = fields.String()
    is_value_required = fields.Boolean()
    value_label = fields.String()
    unit = fields.String()
    min_value = fields.Float(allow_none=True)
    max_value = fields.Float(allow_none=True)


class SopCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=20),
                                                  validate.Regexp(r"^[A-Z0-9][A-Z0-9-]*$")])
    title = fields.String(required=True, validate=_short)
    discipline = fields.String(load_default="firearms", validate=validate.Length(max=60))


class VersionCreateSchema(BaseSchema):
    summary = fields.String(load_default="", validate=validate.Length(max=2000))
    body = fields.String(load_default="", validate=validate.Length(max=100000))
    turnaround_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1, max=3650))
    review_due = fields.Date(load_default=None, allow_none=True)
    steps = fields.List(fields.Nested(StepInSchema), load_default=list)


class VersionBriefSchema(BaseSchema):
    id = fields.Integer()
    number = fields.Integer()
    status = fields.String()
    effective_from = fields.Date(allow_none=True)
    effective_until = fields.Date(allow_none=True)


class VersionSchema(BaseSchema):
    id = fields.Integer()
    sop_id = fields.Integer()
    label = fields.String()
    number = fields.Integer()
    status = fields.String()
    summary = fields.String()
    body = fields.String()
    turnaround_days = fields.Integer(allow_none=True)
    author_id = fields.Integer(allow_none=True)
    approved_by_id = fields.Integer(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    effective_from = fields.Date(allow_none=True)
    effective_until = fields.Date(allow_none=True)
    review_due = fields.Date(allow_none=True)
    source = fields.String()
    steps = fields.List(fields.Nested(StepSchema))


class SopSchema(BaseSchema):
    id = fields.Integer()
    code = fields.String()
    title = fields.String()
    discipline = fields.String()
    versions = fields.List(fields.Nested(VersionBriefSchema))


class ActivateSchema(BaseSchema):
    effective_from = fields.Date(load_default=None, allow_none=True)
    review_due = fields.Date(load_default=None, allow_none=True)


class AckSchema(BaseSchema):
    id = fields.Integer()
    version_id = fields.Integer()
    user_id = fields.Integer()
    acknowledged_at = UtcDateTime()


class TrainingCreateSchema(BaseSchema):
    user_id = fields.Integer(required=True)
    title = fields.String(required=True, validate=_short)
    completed_on = fields.Date(required=True)
    provider = fields.String(load_default="", validate=validate.Length(max=200))
    sop_id = fields.Integer(load_default=None, allow_none=True)
    hours = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    notes = fields.String(load_default="", validate=_text)


class TrainingSchema(TrainingCreateSchema):
    id = fields.Integer()
    recorded_by_id = fields.Integer()


_score = fields.Integer(validate=validate.Range(min=1, max=4))


class SelfAssessSchema(BaseSchema):
    ratings = fields.Dict(keys=fields.String(), values=_score, required=True)
    assessed_on = fields.Date(load_default=None, allow_none=True)
    notes = fields.String(load_default="", validate=_text)


class SuperviseSchema(BaseSchema):
    ratings = fields.Dict(keys=fields.String(), values=_score, required=True)
    comments = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    notes = fields.String(load_default="", validate=_text)


class RatingSchema(BaseSchema):
    area = fields.String()
    self_score = fields.Integer()
    supervisor_score = fields.Integer(allow_none=True)
    comment = fields.String()


class AssessmentSchema(BaseSchema):
    id = fields.Integer()
    user_id = fields.Integer()
    assessed_on = fields.Date()
    status = fields.String()
    supervisor_id = fields.Integer(allow_none=True)
    is_competent = fields.Boolean()
    valid_until = fields.Date(allow_none=True)
    notes = fields.String()
    ratings = fields.List(fields.Nested(RatingSchema))


class ProgressSchema(BaseSchema):
    user_id = fields.Integer()
    full_name = fields.String()
    scale = fields.Dict(keys=fields.String(), values=fields.String())
    assessments = fields.List(fields.Nested(AssessmentSchema))


class ProficiencyCreateSchema(BaseSchema):
    user_id = fields.Integer(required=True)
    provider = fields.String(required=True, validate=_short)
    taken_on = fields.Date(required=True)
    is_satisfactory = fields.Boolean(required=True)
    test_ref = fields.String(load_default="", validate=validate.Length(max=80))
    notes = fields.String(load_default="", validate=_text)


class ProficiencySchema(ProficiencyCreateSchema):
    id = fields.Integer()


class AuthorisationCreateSchema(BaseSchema):
    user_id = fields.Integer(required=True)
    sop_id = fields.Integer(required=True)
    starts_on = fields.Date(required=True)
    expires_on = fields.Date(required=True)


class AuthorisationSchema(AuthorisationCreateSchema):
    id = fields.Integer()
    granted_by_id = fields.Integer()
    revoked_on = fields.Date(allow_none=True)
    revoked_reason = fields.String()


class RevokeSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    revoked_on = fields.Date(load_default=None, allow_none=True)


class EquipmentCreateSchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(required=True, validate=_short)
    kind = fields.String(required=True, validate=one_of(*EquipmentKind))
    manufacturer = fields.String(load_default="", validate=validate.Length(max=120))
    serial_number = fields.String(load_default="", validate=validate.Length(max=80))
    location = fields.String(load_default="", validate=validate.Length(max=120))


class EquipmentSchema(EquipmentCreateSchema):
    id = fields.Integer()
    is_out_of_service = fields.Boolean()
    out_of_service_reason = fields.String()
    state = fields.Function(lambda e: _equipment_state(e).state.value, metadata={
        "description": "in_service, out_of_service (a manager's decision), failed_check, "
                       "overdue or never_calibrated, as of today"})
    state_reason = fields.Function(lambda e: _equipment_state(e).reason)


def _equipment_state(equipment):
    from sop.services.equipment import current_state

    return current_state(equipment)


class ServiceSchema(BaseSchema):
    out_of_service = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class CalibrationCreateSchema(BaseSchema):
    kind = fields.String(required=True,
                         validate=one_of(*CalibrationKind))
    performed_on = fields.Date(required=True)
    due_on = fields.Date(required=True)
    is_passed = fields.Boolean(required=True)
    performed_by = fields.String(load_default="", validate=validate.Length(max=200))
    certificate_ref = fields.String(load_default="", validate=validate.Length(max=120))
    notes = fields.String(load_default="", validate=_text)


class CalibrationSchema(CalibrationCreateSchema):
    id = fields.Integer()
    equipment_id = fields.Integer()


class ExamStartSchema(BaseSchema):
    sop_version_id = fields.Integer(required=True)
    item_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1))
    equipment_ids = fields.List(fields.Integer(), load_default=list)
    requested_at = UtcIn(load_default=None, allow_none=True)
    performed_at = UtcIn(load_default=None, allow_none=True)


class StepRecordInSchema(BaseSchema):
    step_id = fields.Integer(required=True)
    value = fields.Float(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=_text)


class StepRecordSchema(BaseSchema):
    id = fields.Integer()
    step_id = fields.Integer()
    value = fields.Float(allow_none=True)
    note = fields.String()
    recorded_by_id = fields.Integer()
    recorded_at = UtcDateTime()


class CompleteSchema(BaseSchema):
    result = fields.String(required=True, validate=one_of(*AfteResult))
    notes = fields.String(load_default="", validate=_text)


class TechnicalReviewInSchema(BaseSchema):
    outcome = fields.String(required=True, validate=one_of(ReviewOutcome.AGREE,
                                                                ReviewOutcome.DISAGREE))
    reasons = fields.String(load_default="", validate=_text)


class AdminReviewInSchema(BaseSchema):
    outcome = fields.String(required=True, validate=one_of(ReviewOutcome.APPROVED,
                                                                ReviewOutcome.RETURNED))
    reasons = fields.String(load_default="", validate=_text)


class ReviewSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    reviewer_id = fields.Integer()
    outcome = fields.String()
    reasons = fields.String()
    reviewed_at = UtcDateTime()


class FindingSchema(BaseSchema):
    id = fields.Integer()
    examination_id = fields.Integer()
    rule_id = fields.String()
    severity = fields.String()
    message = fields.String(attribute="said", metadata={
        "description": "what broke, for people: in the language of Accept-Language (English "
                       "or Spanish), days as that language writes them; rule_id, severity "
                       "and evidence (ids, ISO days) stay the same for machines"})
    evidence = fields.Dict()
    judged_at = UtcDateTime()
    evaluated_at = UtcDateTime()


class ReviewerConclusionInSchema(BaseSchema):
    result = fields.String(required=True, validate=one_of(*AfteResult))
    notes = fields.String(load_default="", validate=_text)


class ReviewerConclusionSchema(BaseSchema):
    id = fields.Integer()
    reviewer_id = fields.Integer()
    result = fields.String()
    notes = fields.String()
    recorded_at = UtcDateTime()


class ExaminationSchema(BaseSchema):
    id = fields.Integer()
    case_id = fields.Integer(allow_none=True)
    sop_version_id = fields.Integer()
    examiner_id = fields.Integer()
    status = fields.String()
    requested_at = UtcDateTime()
    performed_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    result = fields.String(allow_none=True)
    result_notes = fields.String()
    released_at = UtcDateTime(allow_none=True)
    released_by_id = fields.Integer(allow_none=True)
    item_ids = fields.Function(lambda e: [i.id for i in e.items])
    equipment_ids = fields.Function(lambda e: [q.id for q in e.equipment])
    step_records = fields.List(fields.Nested(StepRecordSchema))
    reviews = fields.List(fields.Nested(ReviewSchema))
    is_blind_review = fields.Boolean()
    is_result_hidden = fields.Function(
        lambda e: getattr(e, "is_result_hidden", False),
        metadata={"description": "blind verification: the conclusion, its notes and the "
                                 "reviews are withheld until you record your own conclusion"})
    reviewer_conclusions = fields.List(fields.Nested(ReviewerConclusionSchema))


class RuleSchema(BaseSchema):
    id = fields.String()
    severity = fields.String()
    title = fields.String()
    explanation = fields.String()
    stage = fields.String(allow_none=True)


def _known_rule(rule_id: str) -> None:
    # A misspelt rule would match no finding: "none found" is not what was asked.
    from sop.services.compliance.registry import all_rules

    if rule_id and rule_id not in {rule.id for rule in all_rules()}:
        raise ValidationError(_("No such rule; GET /api/v1/compliance/rules lists them."))


class FindingQuery(BaseSchema):
    rule_id = fields.String(load_default=None, validate=_known_rule,
                            metadata={"description": "a rule's id (GET /compliance/rules)"})
    examination_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class EvaluationSchema(BaseSchema):
    examinations = fields.Integer()
    findings = fields.Integer()


class NonconformityCreateSchema(BaseSchema):
    title = fields.String(required=True, validate=_short)
    description = fields.String(load_default="", validate=_text)
    severity = fields.String(load_default=Severity.MAJOR.value,
                             validate=one_of(Severity.MAJOR, Severity.MINOR))
    finding_id = fields.Integer(load_default=None, allow_none=True)


class ActionCreateSchema(BaseSchema):
    kind = fields.String(required=True, validate=one_of(*ActionKind))
    description = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    owner_id = fields.Integer(required=True)
    due_on = fields.Date(required=True)


class ActionCompleteSchema(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=20000))


class ActionVerifySchema(BaseSchema):
    is_effective = fields.Boolean(required=True)
    verification = fields.String(required=True, validate=validate.Length(min=1, max=20000))


class CloseSchema(BaseSchema):
    root_cause = fields.String(required=True, validate=validate.Length(min=1, max=20000))


class ActionSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    description = fields.String()
    owner_id = fields.Integer()
    due_on = fields.Date()
    completed_at = UtcDateTime(allow_none=True)
    completion_note = fields.String()
    verification = fields.String()
    verified_by_id = fields.Integer(allow_none=True)
    verified_at = UtcDateTime(allow_none=True)
    is_effective = fields.Boolean(allow_none=True)


class NonconformitySchema(BaseSchema):
    id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    description = fields.String()
    rule_id = fields.String(allow_none=True)
    examination_id = fields.Integer(allow_none=True)
    severity = fields.String()
    status = fields.String()
    root_cause = fields.String()
    raised_by_id = fields.Integer()
    raised_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)
    actions = fields.List(fields.Nested(ActionSchema))


# Complaints (ISO/IEC 17025 §7.9) ---------------------------------------------------------------

_required_text = validate.And(validate.Length(min=1, max=20000), not_blank)


class ComplaintCreateSchema(BaseSchema):
    received_on = fields.Date(required=True, metadata={"description": "not in the future"})
    complainant_name = fields.String(required=True,
                                     validate=validate.And(_short, not_blank))
    complainant_organisation = fields.String(load_default="", validate=validate.Length(max=200))
    complainant_kind = fields.String(required=True, validate=one_of(*ComplainantKind))
    channel = fields.String(required=True, validate=one_of(*ComplaintChannel))
    subject = fields.String(required=True, validate=_required_text,
                            metadata={"description": "what the complaint is about"})
    case_ids = fields.List(fields.Integer(), load_default=list,
                           validate=validate.Length(max=50),
                           metadata={"description": "the lab's own cases it concerns"})


class ComplaintQuery(BaseSchema):
    status = fields.String(load_default=None, validate=one_of(*ComplaintStatus))
    overdue = fields.Boolean(load_default=False, metadata={
        "description": "only those whose acknowledgment is past COMPLAINT_ACK_WORKING_DAYS"})


class ComplaintAcknowledgeSchema(BaseSchema):
    acknowledged_on = fields.Date(required=True)
    note = fields.String(load_default="", validate=_text)


class ComplaintInformSchema(BaseSchema):
    contacted_on = fields.Date(required=True)
    note = fields.String(required=True, validate=_required_text)


class ComplaintRejectSchema(BaseSchema):
    reason = fields.String(required=True, validate=_required_text,
                           metadata={"description": "why it is outside the lab's "
                                                    "responsibility"})
    communicated_on = fields.Date(required=True)


class ComplaintAssignSchema(BaseSchema):
    investigator_id = fields.Integer(required=True)


class ComplaintDecideSchema(BaseSchema):
    decision = fields.String(required=True, validate=one_of(*ComplaintDecision))
    outcome = fields.String(required=True, validate=_required_text)
    raise_nonconformity = fields.Boolean(load_default=False)


class ComplaintCloseSchema(BaseSchema):
    communicated_on = fields.Date(required=True)
    note = fields.String(load_default="", validate=_text)


class ComplaintContactSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    contacted_on = fields.Date()
    note = fields.String()
    recorded_by_id = fields.Integer()
    recorded_at = UtcDateTime()


class ComplaintSchema(BaseSchema):
    id = fields.Integer()
    reference = fields.String()
    received_on = fields.Date()
    complainant_name = fields.String()
    complainant_organisation = fields.String()
    complainant_kind = fields.String()
    channel = fields.String()
    subject = fields.String()
    status = fields.String()
    case_ids = fields.Function(lambda c: [case.id for case in c.cases])
    recorded_by_id = fields.Integer()
    recorded_at = UtcDateTime()
    acknowledged_on = fields.Date(allow_none=True)
    is_within_scope = fields.Boolean(allow_none=True)
    investigator_id = fields.Integer(allow_none=True)
    assigned_by_id = fields.Integer(allow_none=True)
    assigned_at = UtcDateTime(allow_none=True)
    decision = fields.String(allow_none=True)
    outcome = fields.String()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    nonconformity_id = fields.Integer(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    closed_by_id = fields.Integer(allow_none=True)
    contacts = fields.List(fields.Nested(ComplaintContactSchema))
