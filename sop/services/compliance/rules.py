"""The compliance rules. Each is judged as of the examination's own date (``performed_at``):
a record that lapsed after the examination does not make it non-compliant.

Only TURNAROUND looks at today, and only for a report not yet released (it is late now).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import timedelta

from flask_babel import lazy_gettext as _l

from ballistics.core.wording import Wording, coded, counted, english, wording
from sop.models.examinations import ReviewKind, ReviewOutcome
from sop.services.calibration import state_on
from sop.services.compliance.facts import ExamFacts, LabFacts, upto
from sop.services.compliance.registry import Severity, Violation, rule

#: a satisfactory proficiency test counts for this many days (ANAB AR 3125: at least yearly)
PROFICIENCY_VALID_DAYS = 365


def _d(value) -> str:
    return value.isoformat() if value is not None else "—"


def _listed(clauses: list[Wording]) -> Wording:
    """Clauses joined by semicolons, as one wording (its values cannot be lists)."""
    first, *rest = clauses
    return first if not rest else wording("%(first)s; %(rest)s", first=first,
                                          rest=_listed(rest))


@rule("SOP-EFFECTIVE", Severity.BLOCKING, _l("SOP version in force"),
      _l("The examination must follow a version of the SOP that was approved and in force on the "
         "day it was performed."), stage="start")
def sop_effective(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    v = facts.versions[exam.version_id]
    day = exam.day
    evidence = {"sop_version_id": v.id, "version": v.label, "status": v.status,
                "effective_from": _d(v.effective_from), "effective_until": _d(v.effective_until)}
    if v.effective_from is None:
        why = wording("it was never made effective (status %(status)s)", status=coded(v.status))
    elif day < v.effective_from:
        why = wording("it came into force only on %(day)s", day=v.effective_from)
    elif v.effective_until is not None and day >= v.effective_until:
        why = wording("it stopped being in force on %(day)s (%(status)s)",
                      day=v.effective_until, status=coded(v.status))
    else:
        return None
    return Violation(wording("%(version)s was not in force on %(day)s: %(why)s.",
                             version=v.label, day=day, why=why), evidence)


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
        return Violation(wording("%(who)s held no authorisation for %(sop)s on %(day)s "
                                 "(none was ever granted).", who=who, sop=v.sop_code,
                                 day=exam.day),
                         {"user_id": exam.examiner_id, "sop_id": v.sop_id, "authorisations": []})
    listed = [{"authorisation_id": a.id, "starts_on": _d(a.starts_on),
               "expires_on": _d(a.expires_on), "revoked_on": _d(a.revoked_on)} for a in grants]
    last = grants[-1]
    span = (wording("authorisation #%(id)s ran from %(start)s to %(end)s, revoked on "
                    "%(revoked)s", id=last.id, start=last.starts_on, end=last.expires_on,
                    revoked=last.revoked_on) if last.revoked_on else
            wording("authorisation #%(id)s ran from %(start)s to %(end)s", id=last.id,
                    start=last.starts_on, end=last.expires_on))
    return Violation(wording("%(who)s held no authorisation for %(sop)s on %(day)s (%(span)s).",
                             who=who, sop=v.sop_code, day=exam.day, span=span),
                     {"user_id": exam.examiner_id, "sop_id": v.sop_id, "authorisations": listed})


@rule("EXAMINER-COMPETENT", Severity.MAJOR, _l("Competency assessment current"),
      _l("The examiner's latest supervisor-rated competency assessment before the examination "
         "must find them competent and still be valid."))
def examiner_competent(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    done = upto(facts.competency.get(exam.examiner_id, []), exam.day, "assessed_on")
    who = facts.user(exam.examiner_id)
    if not done:
        return Violation(wording("%(who)s had no completed competency assessment by %(day)s.",
                                 who=who, day=exam.day), {"user_id": exam.examiner_id})
    last = done[-1]
    if last.is_competent and last.valid_until is not None and last.valid_until >= exam.day:
        return None
    evidence = {"assessment_id": last.id, "assessed_on": _d(last.assessed_on),
                "valid_until": _d(last.valid_until), "is_competent": last.is_competent}
    if not last.is_competent:
        return Violation(wording("%(who)s's latest competency assessment (#%(id)s, %(assessed)s) "
                                 "did not find them competent.", who=who, id=last.id,
                                 assessed=last.assessed_on), evidence)
    return Violation(wording("%(who)s's competency assessment #%(id)s expired on %(expired)s, "
                             "before the examination on %(day)s.", who=who, id=last.id,
                             expired=last.valid_until, day=exam.day), evidence)


@rule("PROFICIENCY-CURRENT", Severity.MAJOR, _l("Proficiency test current"),
      _l("The examiner's latest proficiency test before the examination must be satisfactory "
         "and taken within the previous %(days)s days.", days=PROFICIENCY_VALID_DAYS))
def proficiency_current(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    taken = upto(facts.proficiency.get(exam.examiner_id, []), exam.day, "taken_on")
    who = facts.user(exam.examiner_id)
    if not taken:
        return Violation(wording("%(who)s had taken no proficiency test by %(day)s.", who=who,
                                 day=exam.day), {"user_id": exam.examiner_id})
    last = taken[-1]
    if last.is_satisfactory and (exam.day - last.taken_on).days <= PROFICIENCY_VALID_DAYS:
        return None
    evidence = {"proficiency_test_id": last.id, "provider": last.provider,
                "taken_on": _d(last.taken_on), "is_satisfactory": last.is_satisfactory}
    if not last.is_satisfactory:
        return Violation(wording("%(who)s's latest proficiency test (%(provider)s %(test)s, "
                                 "%(taken)s) was not satisfactory.", who=who,
                                 provider=last.provider, test=last.test_ref,
                                 taken=last.taken_on), evidence)
    return Violation(wording("%(who)s's latest proficiency test was taken on %(taken)s, more "
                             "than %(days)s days before %(day)s.", who=who, taken=last.taken_on,
                             days=PROFICIENCY_VALID_DAYS, day=exam.day), evidence)


@rule("SOP-ACKNOWLEDGED", Severity.MINOR, _l("SOP version read and acknowledged"),
      _l("The examiner must have read and acknowledged the SOP version before working under it."))
def sop_acknowledged(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    v = facts.versions[exam.version_id]
    when = facts.acknowledgements.get((exam.version_id, exam.examiner_id))
    who = facts.user(exam.examiner_id)
    if when is None:
        return Violation(wording("%(who)s never acknowledged %(version)s.", who=who,
                                 version=v.label),
                         {"sop_version_id": v.id, "user_id": exam.examiner_id})
    if when > exam.performed_at:
        return Violation(wording("%(who)s acknowledged %(version)s only on %(acknowledged)s, "
                                 "after the examination on %(day)s.", who=who, version=v.label,
                                 acknowledged=facts.day_of(when), day=exam.day),
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
        problems.append(wording("%(instrument)s %(problem)s", instrument=name,
                                problem=state.wording))
        last = state.record
        evidence.append({"equipment_id": eq_id, "state": state.state.value} if last is None
                        else {"equipment_id": eq_id, "state": state.state.value,
                              "calibration_id": last.id, "kind": last.kind,
                              "performed_on": _d(last.performed_on), "due_on": _d(last.due_on),
                              "is_passed": last.is_passed})
    if not problems:
        return None
    return Violation(wording("On %(day)s: %(problems)s.", day=exam.day,
                             problems=_listed(problems)), {"equipment": evidence})


def _step_name(step) -> Wording:
    return wording("step %(position)s '%(title)s'", position=step.position, title=step.title)


@rule("STEPS-RECORDED", Severity.MAJOR, _l("Required steps recorded"),
      _l("A completed examination must record every required step of its SOP version, with the "
         "measured value where the step asks for one."))
def steps_recorded(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    if exam.completed_at is None:
        return None  # still in progress: steps are judged on completion
    missing: list[tuple] = []
    for step in facts.versions[exam.version_id].steps:
        if step.id not in exam.steps:
            missing.append((step, wording("not recorded")))
        elif step.is_value_required and exam.steps[step.id] is None:
            missing.append((step, wording("no %(what)s recorded",
                                          what=step.value_label or wording("value"))))
    if not missing:
        return None
    return Violation(wording("Required steps missing: %(steps)s.", steps=_listed([
        wording("%(step)s (%(problem)s)", step=_step_name(s), problem=why)
        for s, why in missing])),
        {"steps": [{"step_id": s.id, "position": s.position, "problem": english(why)}
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

    def fmt(step, value) -> Wording:
        low, high = step.min_value, step.max_value
        allowed = (f"{low:g}-{high:g}" if low is not None and high is not None else
                   wording("at least %(min)s", min=f"{low:g}") if low is not None else
                   wording("at most %(max)s", max=f"{high:g}"))
        if step.unit:
            return wording("%(step)s: %(value)s %(unit)s (allowed %(allowed)s %(unit)s)",
                           step=_step_name(step), value=f"{value:g}", unit=step.unit,
                           allowed=allowed)
        return wording("%(step)s: %(value)s (allowed %(allowed)s)", step=_step_name(step),
                       value=f"{value:g}", allowed=allowed)

    return Violation(wording("Values out of range: %(steps)s.",
                             steps=_listed([fmt(s, v) for s, v in bad])),
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
        if exam.release_planned:
            return Violation(wording("The report has no technical review yet."), {})
        return Violation(wording("The report was released without a technical review."), {})
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
        return Violation(wording("The technical review #%(id)s was by the examiner themself "
                                 "(%(who)s).", id=review.id, who=who), evidence)
    if review.outcome != ReviewOutcome.AGREE:
        return Violation(wording("The latest technical review (#%(id)s, %(who)s) disagreed: "
                                 "%(reasons)s", id=review.id, who=who, reasons=review.reasons),
                         evidence)
    return Violation(wording("The technical reviewer %(who)s was not authorised for %(sop)s on "
                             "%(day)s.", who=who, sop=v.sop_code,
                             day=facts.day_of(review.reviewed_at)), evidence)


@rule("ADMIN-REVIEW", Severity.BLOCKING, _l("Administrative review before release"),
      _l("Before release, the latest administrative review must approve the report and be by "
         "someone other than the examiner."), stage="release")
def administrative_review(exam: ExamFacts, facts: LabFacts) -> Violation | None:
    if exam.released_at is None:
        return None
    review = _latest(exam, ReviewKind.ADMINISTRATIVE)
    if review is None:
        if exam.release_planned:
            return Violation(wording("The report has no administrative review yet."), {})
        return Violation(wording("The report was released without an administrative review."),
                         {})
    evidence = {"review_id": review.id, "reviewer_id": review.reviewer_id,
                "outcome": review.outcome}
    if review.reviewer_id == exam.examiner_id:
        return Violation(wording("The administrative review #%(id)s was by the examiner "
                                 "themself.", id=review.id), evidence)
    if review.outcome != ReviewOutcome.APPROVED:
        return Violation(wording("The latest administrative review (#%(id)s) returned the "
                                 "report: %(reasons)s", id=review.id, reasons=review.reasons),
                         evidence)
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
            problems.append(wording("%(item)s was with %(holder)s when the examination started",
                                    item=barcode, holder=facts.holder(at_start)))
            evidence.append({"item_id": item_id, "custody_event_id":
                             at_start.id if at_start else None, "at": "start"})
            continue
        moved = next((e for e in events[i:] if e.occurred_at <= end
                      and e.to_user_id != exam.examiner_id), None)
        if moved is not None:
            problems.append(wording("%(item)s went to %(holder)s on %(time)s (custody event "
                                    "%(seq)s, %(kind)s) before the examination was completed",
                                    item=barcode, holder=facts.holder(moved),
                                    time=moved.occurred_at, seq=moved.seq,
                                    kind=coded(moved.kind)))
            evidence.append({"item_id": item_id, "custody_event_id": moved.id,
                             "seq": moved.seq, "occurred_at": moved.occurred_at.isoformat()})
    if not problems:
        return None
    examiner = facts.user(exam.examiner_id)
    return Violation(wording("Not held by %(examiner)s: %(problems)s.", examiner=examiner,
                             problems=_listed(problems)), {"items": evidence})


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
    days, target = _days(days), _days(target)
    if exam.released_at is None:
        return Violation(wording("Not released %(days)s after the request (target %(target)s).",
                                 days=days, target=target), evidence)
    return Violation(wording("Released %(days)s after the request (target %(target)s).",
                             days=days, target=target), evidence)


def _days(n: int) -> Wording:
    return counted(n, "%(num)s day", "%(num)s days")
