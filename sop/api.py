"""JSON API for SOPs, personnel, equipment, examinations and quality: parse, call, serialise.

Every lookup is lab-scoped: another lab's record answers 404.
"""

from __future__ import annotations

from flask import g

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.core.api import ApiBlueprint
from ballistics.extensions import db
from sop import schemas as s
from sop.models import (
    Authorisation,
    CompetencyAssessment,
    Complaint,
    CorrectiveAction,
    Equipment,
    Examination,
    Finding,
    Nonconformity,
    Sop,
    SopVersion,
)
from sop.permissions import MANAGE_QUALITY
from sop.services import complaints, documents, equipment, examinations, personnel, quality
from sop.services.compliance.engine import refresh_findings
from sop.services.compliance.registry import all_rules

bp = ApiBlueprint("sop_api", __name__, url_prefix="/api/v1")
DOCS, PEOPLE, EQUIP, EXAMS, QUALITY = (["sop documents"], ["sop personnel"], ["sop equipment"],
                                       ["sop examinations"], ["sop quality"])
COMPLAINTS = ["sop complaints"]
W = (403, 404, 409, 422)


def _get(model, ident: int, what: str):
    return get_in_lab(model, ident, g.api_user, what=what)


# Document control ------------------------------------------------------------------------------

@bp.operation("/sops", summary="The lab's SOPs", tags=DOCS, response=s.SopSchema, many=True)
def sop_list():
    return db.session.execute(lab_select(Sop, g.api_user).order_by(Sop.code)).scalars().all()


@bp.operation("/sops", "POST", summary="Add an SOP", tags=DOCS, body=s.SopCreateSchema,
              response=s.SopSchema, status=201, errors=(403, 409, 422))
def sop_create(data: dict):
    return documents.create_sop(g.api_user, **data)


@bp.operation("/sops/<int:sop_id>", summary="An SOP and its versions", tags=DOCS,
              response=s.SopSchema, errors=(404,))
def sop_get(sop_id: int):
    return _get(Sop, sop_id, "SOP")


@bp.operation("/sops/<int:sop_id>/versions", "POST", summary="Draft a new version", tags=DOCS,
              body=s.VersionCreateSchema, response=s.VersionSchema, status=201, errors=W)
def version_create(sop_id: int, data: dict):
    return documents.create_version(g.api_user, _get(Sop, sop_id, "SOP"), **data)


@bp.operation("/sop-versions/<int:version_id>", summary="A version with its steps", tags=DOCS,
              response=s.VersionSchema, errors=(404,))
def version_get(version_id: int):
    return _get(SopVersion, version_id, "SOP version")


@bp.operation("/sop-versions/<int:version_id>/submit-for-review", "POST", tags=DOCS,
              summary="Send a draft for review", response=s.VersionSchema, errors=W)
def version_submit(version_id: int):
    return documents.submit_for_review(g.api_user,
                                       _get(SopVersion, version_id, "SOP version"))


@bp.operation("/sop-versions/<int:version_id>/approve", "POST", tags=DOCS,
              summary="Approve a version in review (not by its author)", response=s.VersionSchema,
              errors=W)
def version_approve(version_id: int):
    return documents.approve_version(g.api_user, _get(SopVersion, version_id, "SOP version"))


@bp.operation("/sop-versions/<int:version_id>/activate", "POST", tags=DOCS,
              summary="Put an approved version in force (supersedes the previous one)",
              body=s.ActivateSchema, response=s.VersionSchema, errors=W)
def version_activate(version_id: int, data: dict):
    return documents.activate_version(g.api_user, _get(SopVersion, version_id, "SOP version"),
                                      **data)


@bp.operation("/sop-versions/<int:version_id>/retire", "POST", tags=DOCS,
              summary="Retire a version", response=s.VersionSchema, errors=W)
def version_retire(version_id: int):
    return documents.retire_version(g.api_user, _get(SopVersion, version_id, "SOP version"))


@bp.operation("/sop-versions/<int:version_id>/acknowledge", "POST", tags=DOCS,
              summary="Read-and-acknowledge a version", response=s.AckSchema, status=201,
              errors=W)
def version_acknowledge(version_id: int):
    return documents.acknowledge(g.api_user, _get(SopVersion, version_id, "SOP version"))


# Personnel -------------------------------------------------------------------------------------

@bp.operation("/training-records", "POST", summary="Record training", tags=PEOPLE,
              body=s.TrainingCreateSchema, response=s.TrainingSchema, status=201, errors=W)
def training_create(data: dict):
    return personnel.record_training(g.api_user, **data)


@bp.operation("/competency-assessments", "POST", tags=PEOPLE,
              summary="Self-assessment by the examiner (every area, scale 1-4)",
              body=s.SelfAssessSchema, response=s.AssessmentSchema, status=201, errors=W)
def assessment_create(data: dict):
    return personnel.self_assess(g.api_user, **data)


@bp.operation("/competency-assessments/<int:assessment_id>/supervise", "POST", tags=PEOPLE,
              summary="The supervisor's ratings; completes the assessment",
              body=s.SuperviseSchema, response=s.AssessmentSchema, errors=W)
def assessment_supervise(assessment_id: int, data: dict):
    assessment = _get(CompetencyAssessment, assessment_id, "competency assessment")
    return personnel.supervise(g.api_user, assessment, **data)


@bp.operation("/examiners/<int:user_id>/competency", tags=PEOPLE,
              summary="An examiner's assessments over time", response=s.ProgressSchema,
              errors=(403, 404))
def competency_progress(user_id: int):
    return personnel.progress(personnel.competency_subject(g.api_user, user_id))


@bp.operation("/proficiency-tests", "POST", summary="Record a proficiency test result",
              tags=PEOPLE, body=s.ProficiencyCreateSchema, response=s.ProficiencySchema,
              status=201, errors=W)
def proficiency_create(data: dict):
    return personnel.record_proficiency(g.api_user, **data)


@bp.operation("/authorisations", summary="Authorisations in the lab", tags=PEOPLE,
              response=s.AuthorisationSchema, many=True)
def authorisation_list():
    return db.session.execute(lab_select(Authorisation, g.api_user)
                              .order_by(Authorisation.expires_on)).scalars().all()


@bp.operation("/authorisations", "POST", summary="Authorise a person for an SOP", tags=PEOPLE,
              body=s.AuthorisationCreateSchema, response=s.AuthorisationSchema, status=201,
              errors=W)
def authorisation_create(data: dict):
    return personnel.grant_authorisation(g.api_user, **data)


@bp.operation("/authorisations/<int:auth_id>/revoke", "POST", summary="Withdraw early",
              tags=PEOPLE, body=s.RevokeSchema, response=s.AuthorisationSchema, errors=W)
def authorisation_revoke(auth_id: int, data: dict):
    grant = _get(Authorisation, auth_id, "authorisation")
    return personnel.revoke_authorisation(g.api_user, grant, **data)


# Equipment -------------------------------------------------------------------------------------

@bp.operation("/equipment", summary="The equipment register", tags=EQUIP,
              response=s.EquipmentSchema, many=True)
def equipment_list():
    return db.session.execute(lab_select(Equipment, g.api_user)
                              .order_by(Equipment.code)).scalars().all()


@bp.operation("/equipment", "POST", summary="Register an instrument", tags=EQUIP,
              body=s.EquipmentCreateSchema, response=s.EquipmentSchema, status=201,
              errors=(403, 409, 422))
def equipment_create(data: dict):
    return equipment.register(g.api_user, **data)


@bp.operation("/equipment/<int:equipment_id>/calibrations", "POST", tags=EQUIP,
              summary="Record a calibration or performance check",
              body=s.CalibrationCreateSchema, response=s.CalibrationSchema, status=201,
              errors=W)
def calibration_create(equipment_id: int, data: dict):
    eq = _get(Equipment, equipment_id, "equipment")
    return equipment.record_calibration(g.api_user, eq, **data)


@bp.operation("/equipment/<int:equipment_id>/service", "POST", tags=EQUIP,
              summary="Take out of service or return to service", body=s.ServiceSchema,
              response=s.EquipmentSchema, errors=W)
def equipment_service(equipment_id: int, data: dict):
    eq = _get(Equipment, equipment_id, "equipment")
    return equipment.set_service(g.api_user, eq, **data)


# Examinations ----------------------------------------------------------------------------------

@bp.operation("/examinations", "POST", tags=EXAMS,
              summary="Start an examination (refused if the examiner is not authorised or "
                      "the SOP version is not in force)",
              body=s.ExamStartSchema, response=s.ExaminationSchema, status=201, errors=W)
def examination_start(data: dict):
    return examinations.start(g.api_user, **data)


@bp.operation("/examinations/<int:exam_id>", summary="An examination", tags=EXAMS,
              response=s.ExaminationSchema, errors=(404,))
def examination_get(exam_id: int):
    return examinations.as_seen_by(_get(Examination, exam_id, "examination"), g.api_user)


@bp.operation("/examinations/<int:exam_id>/steps", "POST", summary="Record a step", tags=EXAMS,
              body=s.StepRecordInSchema, response=s.StepRecordSchema, status=201, errors=W)
def examination_step(exam_id: int, data: dict):
    return examinations.record_step(g.api_user, _get(Examination, exam_id, "examination"),
                                    **data)


@bp.operation("/examinations/<int:exam_id>/complete", "POST", tags=EXAMS,
              summary="Complete with an AFTE conclusion", body=s.CompleteSchema,
              response=s.ExaminationSchema, errors=W)
def examination_complete(exam_id: int, data: dict):
    return examinations.complete(g.api_user, _get(Examination, exam_id, "examination"), **data)


@bp.operation("/examinations/<int:exam_id>/technical-review", "POST", tags=EXAMS,
              summary="Technical review (appended; a disagreement stays on record)",
              body=s.TechnicalReviewInSchema, response=s.ReviewSchema, status=201, errors=W)
def examination_technical_review(exam_id: int, data: dict):
    exam = _get(Examination, exam_id, "examination")
    return examinations.technical_review(g.api_user, exam, **data)


@bp.operation("/examinations/<int:exam_id>/reviewer-conclusion", "POST", tags=EXAMS,
              summary="Blind verification: the reviewer's own conclusion, before the review",
              body=s.ReviewerConclusionInSchema, response=s.ReviewerConclusionSchema,
              status=201, errors=W)
def examination_reviewer_conclusion(exam_id: int, data: dict):
    exam = _get(Examination, exam_id, "examination")
    return examinations.record_reviewer_conclusion(g.api_user, exam, **data)


@bp.operation("/examinations/<int:exam_id>/administrative-review", "POST", tags=EXAMS,
              summary="Administrative review (appended)", body=s.AdminReviewInSchema,
              response=s.ReviewSchema, status=201, errors=W)
def examination_admin_review(exam_id: int, data: dict):
    exam = _get(Examination, exam_id, "examination")
    return examinations.administrative_review(g.api_user, exam, **data)


@bp.operation("/examinations/<int:exam_id>/release", "POST", tags=EXAMS,
              summary="Release the report (only after both reviews)",
              response=s.ExaminationSchema, errors=W)
def examination_release(exam_id: int):
    return examinations.release(g.api_user, _get(Examination, exam_id, "examination"))


# Compliance and quality ------------------------------------------------------------------------

@bp.operation("/compliance/rules", summary="The compliance rules", tags=QUALITY,
              response=s.RuleSchema, many=True)
def rule_list():
    return [{"id": r.id, "severity": r.severity.value, "title": str(r.title),
             "explanation": str(r.explanation), "stage": r.stage} for r in all_rules()]


@bp.operation("/compliance/findings", summary="Stored findings", tags=QUALITY,
              query=s.FindingQuery, response=s.FindingSchema, many=True)
def finding_list(params: dict):
    stmt = lab_select(Finding, g.api_user).order_by(Finding.id)
    if params["rule_id"]:
        stmt = stmt.where(Finding.rule_id == params["rule_id"])
    if params["examination_id"]:
        stmt = stmt.where(Finding.examination_id == params["examination_id"])
    return db.session.execute(stmt.limit(params["limit"]).offset(params["offset"])
                              ).scalars().all()


@bp.operation("/compliance/evaluate", "POST", summary="Re-judge every examination of the lab",
              tags=QUALITY, response=s.EvaluationSchema, errors=(403,))
def compliance_evaluate():
    require_role(g.api_user, MANAGE_QUALITY, "re-evaluate compliance")
    return refresh_findings(g.api_user.lab_id)


@bp.operation("/nonconformities", "POST", summary="Record a nonconformity", tags=QUALITY,
              body=s.NonconformityCreateSchema, response=s.NonconformitySchema, status=201,
              errors=W)
def nonconformity_create(data: dict):
    finding_id = data.pop("finding_id")
    finding = _get(Finding, finding_id, "finding") if finding_id else None
    return quality.open_nonconformity(g.api_user, finding=finding, **data)


@bp.operation("/nonconformities/<int:nc_id>", summary="A nonconformity and its actions",
              tags=QUALITY, response=s.NonconformitySchema, errors=(404,))
def nonconformity_get(nc_id: int):
    return _get(Nonconformity, nc_id, "nonconformity")


@bp.operation("/nonconformities/<int:nc_id>/actions", "POST", tags=QUALITY,
              summary="Plan a corrective or preventive action", body=s.ActionCreateSchema,
              response=s.ActionSchema, status=201, errors=W)
def action_create(nc_id: int, data: dict):
    return quality.add_action(g.api_user, _get(Nonconformity, nc_id, "nonconformity"), **data)


@bp.operation("/nonconformities/<int:nc_id>/close", "POST", tags=QUALITY,
              summary="Close once every action is verified effective", body=s.CloseSchema,
              response=s.NonconformitySchema, errors=W)
def nonconformity_close(nc_id: int, data: dict):
    nc = _get(Nonconformity, nc_id, "nonconformity")
    return quality.close_nonconformity(g.api_user, nc, **data)


@bp.operation("/corrective-actions/<int:action_id>/complete", "POST", tags=QUALITY,
              summary="Mark an action done", body=s.ActionCompleteSchema,
              response=s.ActionSchema, errors=W)
def action_complete(action_id: int, data: dict):
    action = _get(CorrectiveAction, action_id, "corrective action")
    return quality.complete_action(g.api_user, action, **data)


@bp.operation("/corrective-actions/<int:action_id>/verify", "POST", tags=QUALITY,
              summary="Verify effectiveness (not by the owner)", body=s.ActionVerifySchema,
              response=s.ActionSchema, errors=W)
def action_verify(action_id: int, data: dict):
    action = _get(CorrectiveAction, action_id, "corrective action")
    return quality.verify_action(g.api_user, action, **data)


# Complaints (ISO/IEC 17025 §7.9) ---------------------------------------------------------------

def _complaint(complaint_id: int) -> Complaint:
    """A complaint of the caller's lab they may see (a lab manager, its recorder or its
    investigator)."""
    complaint = _get(Complaint, complaint_id, "complaint")
    if not complaints.can_see(g.api_user, complaint):
        require_role(g.api_user, MANAGE_QUALITY, "see complaints")
    return complaint


@bp.operation("/complaints", summary="The complaints register, newest first", tags=COMPLAINTS,
              query=s.ComplaintQuery, response=s.ComplaintSchema, many=True, errors=(403,))
def complaint_list(params: dict):
    return complaints.register(g.api_user, **params)


@bp.operation("/complaints", "POST", summary="Record a complaint as received", tags=COMPLAINTS,
              body=s.ComplaintCreateSchema, response=s.ComplaintSchema, status=201,
              errors=(403, 422))
def complaint_create(data: dict):
    return complaints.record(g.api_user, **data)


@bp.operation("/complaints/<int:complaint_id>", summary="A complaint and what the complainant "
              "was told", tags=COMPLAINTS, response=s.ComplaintSchema, errors=(403, 404))
def complaint_get(complaint_id: int):
    return _complaint(complaint_id)


def _complaint_step(path: str, name: str, summary: str, schema: type, service, *,
                    response: type = s.ComplaintSchema, status: int = 200) -> None:
    """A step of a complaint's handling: the complaint of the caller's lab they may see, the
    body, the service (as :func:`ballistics.evidence.api._custody_op` declares custody steps)."""

    def view(complaint_id: int, data: dict):
        return service(g.api_user, _complaint(complaint_id), **data)

    view.__name__ = f"complaint_{name}"  # the operation's id
    bp.operation(f"/complaints/<int:complaint_id>/{path}", "POST", tags=COMPLAINTS,
                 summary=summary, body=schema, response=response, status=status,
                 errors=W)(view)


_complaint_step("acknowledge", "acknowledge", "Receipt acknowledged to the complainant (§7.9.5)",
                s.ComplaintAcknowledgeSchema, complaints.acknowledge)
_complaint_step("contacts", "inform", "The complainant informed of progress (appended)",
                s.ComplaintInformSchema, complaints.inform, response=s.ComplaintContactSchema,
                status=201)
_complaint_step("reject", "reject", "Not about the lab's activities: closed as not upheld, the "
                "reason communicated (by a lab manager not involved)", s.ComplaintRejectSchema,
                complaints.reject)
_complaint_step("assign", "assign",
                "Assign an investigator not involved in the activities complained of",
                s.ComplaintAssignSchema, complaints.assign)
_complaint_step("decide", "decide", "Upheld or not upheld, with the outcome (an upheld one may "
                "raise a nonconformity)", s.ComplaintDecideSchema, complaints.decide)
_complaint_step("close", "close", "The formal end communicated (§7.9.7), approved by a lab "
                "manager not involved and not its recorder", s.ComplaintCloseSchema,
                complaints.close)
