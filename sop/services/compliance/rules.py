"""The compliance rules. Each is judged as of the examination's own date (``performed_at``):
a record that lapsed after the examination does not make it non-compliant.

Only TURNAROUND looks at today, and only for a report not yet released (it is late now).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import timedelta

from flask_babel import lazy_gettext as _l

from sop.models.examinations import ReviewKind, ReviewOutcome
from sop.services.calibration import state_on
from sop.services.compliance.facts import ExamFacts, LabFacts, upto
from sop.services.compliance.registry import Severity, Violation, rule

#: a satisfactory proficiency test counts for this many days (ANAB AR 3125: at least yearly)
PROFICIENCY_VALID_DAYS = 365


def _d(value) -> str:
    return value.isoformat() if value is not None else "—"


@rule("SOP-EFFECTIVE", Severity.BLOCKING, _l("SOP version in force"),
      _l("The examination must follow a version of the SOP that was approved and in force on the "
         "day it was performed."), stage="start")
def sop_effective(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    v = facts.versions[exam.version_id]
    day = exam.day
    evidence = {"sop_version_id": v.id, "version": v.label, "status": v.status,
                "effective_from": _d(v.effective_from), "effective_until": _d(v.effective_until)}
    if v.effective_from is None:
        why = f"it was never made effective (status {v.status})"
    elif day < v.effective_from:
        why = f"it came into force only on {_d(v.effective_from)}"
    elif v.effective_until is not None and day >= v.effective_until:
        why = f"it stopped being in force on {_d(v.effective_until)} ({v.status})"
    else:
        return None
    return Violation(f"{v.label} was not in force on {_d(day)}: {why}.", evidence)


@rule("EXAMINER-AUTHORISED", Severity.BLOCKING, _l("Examiner authorised for the SOP"),
      _l("Only an examiner holding a current authorisation for the SOP may perform casework "
         "under it."), stage="start", refusal_status=403)
def examiner_authorised(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    v = facts.versions[exam.version_id]
    grants = facts.authorisations.get((exam.examiner_id, v.sop_id), [])
    if any(a.covers(exam.day) for a in grants):
        return None
    who = facts.user(exam.examiner_id)
    if not grants:
        return Violation(f"{who} held no authorisation for {v.sop_code} on {_d(exam.day)} "
                         "(none was ever granted).", {"user_id": exam.examiner_id,
                                                     "sop_id": v.sop_id, "authorisations": []})
    listed = [{"authorisation_id": a.id, "starts_on": _d(a.starts_on),
               "expires_on": _d(a.expires_on), "revoked_on": _d(a.revoked_on)} for a in grants]
    last = grants[-1]
    span = f"authorisation #{last.id} ran from {_d(last.starts_on)} to {_d(last.expires_on)}"
    if last.revoked_on:
        span += f", revoked on {_d(last.revoked_on)}"
    return Violation(f"{who} held no authorisation for {v.sop_code} on {_d(exam.day)} "
                     f"({span}).", {"user_id": exam.examiner_id, "sop_id": v.sop_id,
                                    "authorisations": listed})


@rule("EXAMINER-COMPETENT", Severity.MAJOR, _l("Competency assessment current"),
      _l("The examiner's latest supervisor-rated competency assessment before the examination "
         "must find them competent and still be valid."))
def examiner_competent(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    done = upto(facts.competency.get(exam.examiner_id, []), exam.day, "assessed_on")
    who = facts.user(exam.examiner_id)
    if not done:
        return Violation(f"{who} had no completed competency assessment by {_d(exam.day)}.",
                         {"user_id": exam.examiner_id})
    last = done[-1]
    if last.is_competent and last.valid_until is not None and last.valid_until >= exam.day:
        return None
    evidence = {"assessment_id": last.id, "assessed_on": _d(last.assessed_on),
                "valid_until": _d(last.valid_until), "is_competent": last.is_competent}
    if not last.is_competent:
        return Violation(f"{who}'s latest competency assessment (#{last.id}, "
                         f"{_d(last.assessed_on)}) did not find them competent.", evidence)
    return Violation(f"{who}'s competency assessment #{last.id} expired on "
                     f"{_d(last.valid_until)}, before the examination on {_d(exam.day)}.",
                     evidence)


@rule("PROFICIENCY-CURRENT", Severity.MAJOR, _l("Proficiency test current"),
      _l("The examiner's latest proficiency test before the examination must be satisfactory "
         "and taken within the previous %(days)s days.", days=PROFICIENCY_VALID_DAYS))
def proficiency_current(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    taken = upto(facts.proficiency.get(exam.examiner_id, []), exam.day, "taken_on")
    who = facts.user(exam.examiner_id)
    if not taken:
        return Violation(f"{who} had taken no proficiency test by {_d(exam.day)}.",
                         {"user_id": exam.examiner_id})
    last = taken[-1]
    if last.is_satisfactory and (exam.day - last.taken_on).days <= PROFICIENCY_VALID_DAYS:
        return None
    evidence = {"proficiency_test_id": last.id, "provider": last.provider,
                "taken_on": _d(last.taken_on), "is_satisfactory": last.is_satisfactory}
    if not last.is_satisfactory:
        return Violation(f"{who}'s latest proficiency test ({last.provider} "
                         f"{last.test_ref}, {_d(last.taken_on)}) was not satisfactory.", evidence)
    return Violation(f"{who}'s latest proficiency test was taken on {_d(last.taken_on)}, "
                     f"more than {PROFICIENCY_VALID_DAYS} days before {_d(exam.day)}.",
                     evidence)


@rule("SOP-ACKNOWLEDGED", Severity.MINOR, _l("SOP version read and acknowledged"),
      _l("The examiner must have read and acknowledged the SOP version before working under it."))
def sop_acknowledged(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    v = facts.versions[exam.version_id]
    when = facts.acknowledgements.get((exam.version_id, exam.examiner_id))
    who = facts.user(exam.examiner_id)
    if when is None:
        return Violation(f"{who} never acknowledged {v.label}.",
                         {"sop_version_id": v.id, "user_id": exam.examiner_id})
    if when > exam.performed_at:
        return Violation(f"{who} acknowledged {v.label} only on {_d(facts.day_of(when))}, "
                         f"after the examination on {_d(exam.day)}.",
                         {"sop_version_id": v.id, "acknowledged_at": when.isoformat()})
    return None


@rule("EQUIPMENT-CALIBRATED", Severity.BLOCKING, _l("Equipment in calibration"),
      _l("Every instrument used must be in service on the day of the examination: the latest "
         "calibration and the latest performance check before then must have passed and not be "
         "past their due dates. A failed check or a lapsed calibration takes the instrument out "
         "of service until a passing record."), stage="start")
def equipment_calibrated(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    problems, evidence = [], []
    for eq_id in exam.equipment_ids:
        name = facts.equipment.get(eq_id, f"equipment {eq_id}")
        state = state_on(facts.calibrations.get(eq_id, []), exam.day)
        if state.usable:
            continue
        problems.append(f"{name} {state.reason}")
        last = state.record
        evidence.append({"equipment_id": eq_id, "state": state.state.value} if last is None
                        else {"equipment_id": eq_id, "state": state.state.value,
                              "calibration_id": last.id, "kind": last.kind,
                              "performed_on": _d(last.performed_on), "due_on": _d(last.due_on),
                              "is_passed": last.is_passed})
    if not problems:
        return None
    return Violation(f"On {_d(exam.day)}: " + "; ".join(problems) + ".",
                     {"equipment": evidence})


def _step_name(step) -> str:
    return f"step {step.position} '{step.title}'"


@rule("STEPS-RECORDED", Severity.MAJOR, _l("Required steps recorded"),
      _l("A completed examination must record every required step of its SOP version, with the "
         "measured value where the step asks for one."))
def steps_recorded(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    if exam.completed_at is None:
        return None  # still in progress: steps are judged on completion
    missing = []
    for step in facts.versions[exam.version_id].steps:
        if step.id not in exam.steps:
            missing.append((step, "not recorded"))
        elif step.is_value_required and exam.steps[step.id] is None:
            missing.append((step, f"no {step.value_label or 'value'} recorded"))
    if not missing:
        return None
    return Violation("Required steps missing: " + "; ".join(
        f"{_step_name(s)} ({why})" for s, why in missing) + ".",
        {"steps": [{"step_id": s.id, "position": s.position, "problem": why}
                   for s, why in missing]})


@rule("STEP-VALUES-IN-RANGE", Severity.MAJOR, _l("Measured values within the SOP's range"),
      _l("Every value recorded for a step must lie within the range the SOP version sets "
         "(e.g. the number of test fires, the microscope magnification)."))
def step_values_in_range(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    bad = []
    for step in facts.versions[exam.version_id].steps:
        value = exam.steps.get(step.id)
        if value is None:
            continue
        if (step.min_value is not None and value < step.min_value) or (
                step.max_value is not None and value > step.max_value):
            bad.append((step, value))
    if not bad:
        return None

    def fmt(step, value) -> str:
        rng = f"{step.min_value:g}-{step.max_value:g}" if step.max_value is not None \
            else f"at least {step.min_value:g}"
        return f"{_step_name(step)}: {value:g} {step.unit} (allowed {rng} {step.unit})".replace(
            "  ", " ")

    return Violation("Values out of range: " + "; ".join(fmt(s, v) for s, v in bad) + ".",
                     {"steps": [{"step_id": s.id, "value": v, "min": s.min_value,
                                 "max": s.max_value} for s, v in bad]})


def _latest(exam: ExamFacts, kind: ReviewKind):
    before = [r for r in exam.reviews if r.kind == kind
              and (exam.released_at is None or r.reviewed_at <= exam.released_at)]
    return before[-1] if before else None


@rule("TECH-REVIEW", Severity.BLOCKING, _l("Independent technical review before release"),
      _l("Before release, the latest technical review must agree with the conclusion and be by a "
         "different examiner authorised for the SOP on the review date."), stage="release")
def technical_review(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    if exam.released_at is None:
        return None
    review = _latest(exam, ReviewKind.TECHNICAL)
    if review is None:
        return Violation("The report was released without a technical review.", {})
    v = facts.versions[exam.version_id]
    grants = facts.authorisations.get((review.reviewer_id, v.sop_id), [])
    authorised = any(a.covers(facts.day_of(review.reviewed_at)) for a in grants)
    independent = review.reviewer_id != exam.examiner_id
    if independent and review.outcome == ReviewOutcome.AGREE and authorised:
        return None
    evidence = {"review_id": review.id, "reviewer_id": review.reviewer_id,
                "outcome": review.outcome, "reviewed_at": review.reviewed_at.isoformat()}
    who = facts.user(review.reviewer_id)
    if not independent:
        return Violation(f"The technical review #{review.id} was by the examiner themself "
                         f"({who}).", evidence)
    if review.outcome != ReviewOutcome.AGREE:
        return Violation(f"The latest technical review (#{review.id}, {who}) disagreed: "
                         f"{review.reasons}", evidence)
    return Violation(f"The technical reviewer {who} was not authorised for {v.sop_code} "
                     f"on {_d(facts.day_of(review.reviewed_at))}.", evidence)


@rule("ADMIN-REVIEW", Severity.BLOCKING, _l("Administrative review before release"),
      _l("Before release, the latest administrative review must approve the report and be by "
         "someone other than the examiner."), stage="release")
def administrative_review(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    if exam.released_at is None:
        return None
    review = _latest(exam, ReviewKind.ADMINISTRATIVE)
    if review is None:
        return Violation("The report was released without an administrative review.", {})
    evidence = {"review_id": review.id, "reviewer_id": review.reviewer_id,
                "outcome": review.outcome}
    if review.reviewer_id == exam.examiner_id:
        return Violation(f"The administrative review #{review.id} was by the examiner "
                         "themself.", evidence)
    if review.outcome != ReviewOutcome.APPROVED:
        return Violation(f"The latest administrative review (#{review.id}) returned the "
                         f"report: {review.reasons}", evidence)
    return None


@rule("CUSTODY-HELD", Severity.MAJOR, _l("Items in the examiner's custody"),
      _l("Every item examined must be in the examiner's custody (per the chain-of-custody log) "
         "from the start of the examination to its completion."))
def custody_held(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    end = exam.completed_at or min(facts.now, exam.performed_at + timedelta(days=365))
    problems, evidence = [], []
    for item_id in exam.item_ids:
        events = facts.custody.get(item_id, [])
        barcode = facts.items.get(item_id, f"item {item_id}")
        times = [e.occurred_at for e in events]
        i = bisect_right(times, exam.performed_at)
        at_start = events[i - 1] if i else None
        if at_start is None or at_start.to_user_id != exam.examiner_id:
            problems.append(f"{barcode} was with {facts.holder(at_start)} when the examination "
                            f"started")
            evidence.append({"item_id": item_id, "custody_event_id":
                             at_start.id if at_start else None, "at": "start"})
            continue
        moved = next((e for e in events[i:] if e.occurred_at <= end
                      and e.to_user_id != exam.examiner_id), None)
        if moved is not None:
            problems.append(f"{barcode} went to {facts.holder(moved)} on "
                            f"{moved.occurred_at:%Y-%m-%d %H:%M} (custody event {moved.seq}, "
                            f"{moved.kind}) before the examination was completed")
            evidence.append({"item_id": item_id, "custody_event_id": moved.id,
                             "seq": moved.seq, "occurred_at": moved.occurred_at.isoformat()})
    if not problems:
        return None
    examiner = facts.user(exam.examiner_id)
    return Violation(f"Not held by {examiner}: " + "; ".join(problems) + ".",
                     {"items": evidence})


@rule("TURNAROUND", Severity.MINOR, _l("Turnaround target met"),
      _l("The report must be released within the turnaround target the SOP version sets, counted "
         "from the request."))
def turnaround(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    target = facts.versions[exam.version_id].turnaround_days
    if target is None:
        return None
    end = exam.released_at or facts.now
    days = (end - exam.requested_at).days
    if days <= target:
        return None
    evidence = {"target_days": target, "days": days, "requested_at":
                exam.requested_at.isoformat()}
    if exam.released_at is None:
        return Violation(f"Not released {days} days after the request (target {target} days).",
                         evidence)
    return Violation(f"Released {days} days after the request (target {target} days).",
                     evidence)
