"""Scenario tests: each rule alone. Breaking exactly one rule yields exactly its finding."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ballistics.extensions import db
from sop.models import Finding
from sop.services.compliance.engine import refresh_findings
from sop.services.compliance.registry import all_rules
from tests.sop.scenario import as_, build
from tests.support.labs import make_lab


def findings(exam_id: int) -> dict[str, Finding]:
    rows = db.session.execute(select(Finding).where(Finding.examination_id == exam_id)
                              ).scalars()
    return {f.rule_id: f for f in rows}


def test_a_fully_compliant_examination_has_no_finding(app):
    sc = build(make_lab(extra_users=0))
    assert sc.exam.status == "released"
    assert findings(sc.exam.id) == {}


EXPECTED = {
    "SOP-EFFECTIVE": "was not in force on",
    "EXAMINER-AUTHORISED": "held no authorisation for FA-06",
    "EXAMINER-COMPETENT": "did not find them competent",
    "PROFICIENCY-CURRENT": "was not satisfactory",
    "SOP-ACKNOWLEDGED": "never acknowledged FA-06 v1",
    "EQUIPMENT-CALIBRATED": "MIC-01 (Comparison microscope) was due for calibration on",
    "STEPS-RECORDED": "step 3 'State the conclusion' (not recorded)",
    "STEP-VALUES-IN-RANGE": "step 2 'Set magnification': 100 x (allowed 10-60 x)",
    "TECH-REVIEW": "released without a technical review",
    "ADMIN-REVIEW": "released without an administrative review",
    "CUSTODY-HELD": "went to Examiner2",
    "TURNAROUND": "Released 40 days after the request (target 30 days)",
}


def test_every_rule_has_a_scenario():
    assert set(EXPECTED) == {r.id for r in all_rules()}


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_breaking_one_rule_yields_exactly_that_finding(app, rule_id):
    sc = build(make_lab(), break_=rule_id)
    found = findings(sc.exam.id)
    assert list(found) == [rule_id], {k: f.message for k, f in found.items()}
    finding = found[rule_id]
    assert EXPECTED[rule_id] in finding.message, finding.message
    rule = next(r for r in all_rules() if r.id == rule_id)
    assert finding.severity == rule.severity.value
    assert finding.judged_at == sc.exam.performed_at


def test_a_value_above_a_step_with_only_a_maximum_is_a_finding(app):
    """A step may set only a maximum: a value above it is reported with that bound (the rule
    used to fail formatting the missing minimum)."""
    sc = build(make_lab(), break_="STEP-VALUES-IN-RANGE")
    step = sc.version.steps[1]
    step.min_value, step.unit = None, ""
    with as_(sc.user("manager")):
        refresh_findings(sc.kit.lab.id)
    db.session.commit()
    finding = findings(sc.exam.id)["STEP-VALUES-IN-RANGE"]
    assert finding.message == ("Values out of range: step 2 'Set magnification': 100 "
                               "(allowed at most 60).")
