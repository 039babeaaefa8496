"""Evaluate examinations, store their findings, and enforce the blocking rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert

from ballistics.core import timeutil
from ballistics.core.errors import AppError, Conflict, Forbidden
from ballistics.core.wording import said
from ballistics.extensions import db
from sop.models import Finding
from sop.services.compliance.facts import ExamFacts, LabFacts, load_examinations, load_reference
from sop.services.compliance.registry import Rule, Violation, all_rules


@dataclass(frozen=True)
class Result:
    rule: Rule
    violation: Violation


def judge(exam: ExamFacts, facts: LabFacts, rules: list[Rule] | None = None) -> list[Result]:
    """Every rule broken by one examination (pure: reads only the facts)."""
    out = []
    for r in rules if rules is not None else all_rules():
        violation = r.check(exam, facts)
        if violation is not None:
            out.append(Result(r, violation))
    return out


def enforce(exam: ExamFacts, facts: LabFacts, stage: str) -> None:
    """Refuse the action when a blocking rule of this stage is broken (nothing is written).

    The refusal is read by the person refused: the rule's title and what broke it, both in
    their language."""
    rules = [r for r in all_rules() if r.stage == stage]
    for result in judge(exam, facts, rules):
        cls: type[AppError] = Forbidden if result.rule.refusal_status == 403 else Conflict
        raise cls(f"{result.rule.title}: {said(result.violation.wording)}",
                  code=result.rule.id.lower().replace("-", "_"))


@dataclass(frozen=True)
class EvaluationSummary:
    examinations: int
    findings: int


def refresh_findings(lab_id: int, exam_ids: list[int] | None = None,
                     now: datetime | None = None) -> EvaluationSummary:
    """Judge the lab's examinations (all, or those given) and replace their stored findings."""
    now = now or timeutil.utcnow()
    facts = load_reference(lab_id, now)
    exams = load_examinations(lab_id, facts, exam_ids)
    rows = []
    for exam in exams:
        for res in judge(exam, facts):
            rows.append({"lab_id": lab_id, "examination_id": exam.id, "rule_id": res.rule.id,
                         "severity": res.rule.severity.value, "message": res.violation.message,
                         "wording": res.violation.wording, "evidence": res.violation.evidence,
                         "judged_at": exam.performed_at, "evaluated_at": now})
    stmt = delete(Finding).where(Finding.lab_id == lab_id)
    if exam_ids is not None:
        stmt = stmt.where(Finding.examination_id.in_(exam_ids))
    db.session.execute(stmt)
    if rows:
        db.session.execute(insert(Finding), rows)
    return EvaluationSummary(len(exams), len(rows))


