"""SOP and quality models; importing this package registers every table."""

from sop.models.complaints import Complaint, ComplaintCase, ComplaintContact
from sop.models.documents import Sop, SopAcknowledgement, SopStep, SopVersion, VersionStatus
from sop.models.equipment import CalibrationRecord, Equipment
from sop.models.examinations import (
    AfteResult,
    Examination,
    ExaminationEquipment,
    ExaminationItem,
    ExaminationReview,
    ReviewerConclusion,
    StepRecord,
)
from sop.models.personnel import (
    Authorisation,
    CompetencyAssessment,
    CompetencyRating,
    ProficiencyTest,
    TrainingRecord,
)
from sop.models.quality import CorrectiveAction, Finding, Nonconformity

__all__ = [
    "AfteResult", "Authorisation", "CalibrationRecord", "CompetencyAssessment",
    "CompetencyRating", "Complaint", "ComplaintCase", "ComplaintContact", "CorrectiveAction",
    "Equipment", "Examination", "ExaminationEquipment", "ExaminationItem", "ExaminationReview",
    "Finding", "Nonconformity", "ProficiencyTest", "ReviewerConclusion", "Sop",
    "SopAcknowledgement", "SopStep", "SopVersion", "StepRecord", "TrainingRecord",
    "VersionStatus",
]
