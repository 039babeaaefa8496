"""The quality API: lab isolation, least privilege, personnel and equipment records,
nonconformities with corrective actions."""

from __future__ import annotations

from datetime import date, timedelta

from ballistics.core import timeutil
from ballistics.extensions import db
from tests.sop.scenario import ALL_THREE, build, second_manager
from tests.support.labs import make_lab
from tests.support.web import Api, Browser


def test_another_labs_records_answer_404(app, client):
    kit = make_lab()
    sc = build(kit, break_="SOP-ACKNOWLEDGED")
    other = make_lab()
    api = Api(client, other, "manager")
    exam_id, version_id = sc.exam.id, sc.version.id
    finding = Api(client, kit, "manager").get(f"/compliance/findings?examination_id={exam_id}")
    assert [f["rule_id"] for f in finding] == ["SOP-ACKNOWLEDGED"]
    for path in (f"/examinations/{exam_id}", f"/sop-versions/{version_id}",
                 f"/sops/{sc.version.sop_id}"):
        body = api.get(path, expect=404)
        assert "in your lab" in body["message"]
    api.post(f"/sop-versions/{version_id}/approve", expect=404)
    api.post(f"/examinations/{exam_id}/release", expect=404)
    api.post(f"/equipment/{sc.ids['microscope']}/calibrations", {
        "kind": "calibration", "performed_on": "2026-01-01", "due_on": "2026-12-31",
        "is_passed": True}, expect=404)
    api.post("/nonconformities", {"title": "x", "finding_id": finding[0]["id"]}, expect=404)
    assert api.get(f"/compliance/findings?examination_id={exam_id}") == []
    assert api.get("/authorisations") == []
    assert api.get("/sops") == []


def test_least_privilege_on_records(app, client):
    kit = make_lab()
    api = Api(client, kit, "examiner")
    today = timeutil.utcnow().date().isoformat()
    api.post("/sops", {"code": "FA-01", "title": "Function testing"}, expect=403)
    api.post("/equipment", {"code": "M1", "name": "Mic", "kind": "comparison_microscope"},
             expect=403)
    api.post("/proficiency-tests", {"user_id": kit.id("examiner"), "provider": "CTS",
                                    "taken_on": today, "is_satisfactory": True}, expect=403)
    body = api.as_("manager").post("/authorisations", {
        "user_id": kit.id("manager"), "sop_id": 1, "starts_on": today, "expires_on": today},
        expect=403)
    assert body["error"] == "self_authorisation"
    api.as_("manager").post("/equipment", {"code": "M1", "name": "Mic", "kind": "laser"},
                            expect=422)


def test_competency_tool_progress_over_time(app, client):
    kit = make_lab()
    examiner = Api(client, kit, "examiner")
    first = examiner.post("/competency-assessments", {
        "ratings": {**ALL_THREE, "testimony": 1}, "assessed_on": "2025-06-01"})
    body = examiner.post("/competency-assessments", {"ratings": {"microscopy": 3}}, expect=422)
    assert list(body["fields"]) == ["ratings"] and "not rated: " in body["message"]
    examiner.post(f"/competency-assessments/{first['id']}/supervise",
                  {"ratings": ALL_THREE}, expect=403)
    rated = examiner.as_("reviewer").post(
        f"/competency-assessments/{first['id']}/supervise",
        {"ratings": {**ALL_THREE, "testimony": 2}, "comments": {"testimony": "Moot court."}},
        expect=200)
    assert rated["status"] == "completed" and rated["is_competent"] is False
    second = examiner.post("/competency-assessments", {"ratings": ALL_THREE,
                                                       "assessed_on": "2026-06-01"})
    examiner.as_("reviewer").post(f"/competency-assessments/{second['id']}/supervise",
                                  {"ratings": {**ALL_THREE, "testimony": 4}}, expect=200)
    progress = examiner.as_("manager").get(f"/examiners/{kit.id('examiner')}/competency")
    assert [a["is_competent"] for a in progress["assessments"]] == [False, True]
    examiner.as_("examiner2").get(f"/examiners/{kit.id('examiner')}/competency", expect=403)


def test_nonconformity_from_finding_with_corrective_action(app, client):
    kit = make_lab()
    build(kit, break_="EQUIPMENT-CALIBRATED")
    second_manager(kit)
    db.session.commit()
    api = Api(client, kit, "manager")
    finding = api.get("/compliance/findings")[0]
    nc = api.post("/nonconformities", {"title": "Microscope used overdue",
                                       "finding_id": finding["id"]})
    assert nc["rule_id"] == "EQUIPMENT-CALIBRATED" and nc["reference"].startswith("NC-")
    assert "was due for calibration" in nc["description"]
    due = (date.today() + timedelta(days=14)).isoformat()
    action = api.post(f"/nonconformities/{nc['id']}/actions", {
        "kind": "corrective", "description": "Recalibrate MIC-01; review casework since due.",
        "owner_id": kit.id("manager"), "due_on": due})
    api.post(f"/nonconformities/{nc['id']}/close", {"root_cause": "x"}, expect=409)
    api.post(f"/corrective-actions/{action['id']}/verify",
             {"is_effective": True, "verification": "ok"}, expect=409)
    api.post(f"/corrective-actions/{action['id']}/complete", {"note": "Done."}, expect=200)
    body = api.post(f"/corrective-actions/{action['id']}/verify",
                    {"is_effective": True, "verification": "ok"}, expect=403)
    assert body["error"] == "own_action"
    api.as_("manager2").post(f"/corrective-actions/{action['id']}/verify",
                             {"is_effective": True, "verification": "Certificate seen."},
                             expect=200)
    closed = api.post(f"/nonconformities/{nc['id']}/close",
                      {"root_cause": "Calibration reminders went to a former employee."},
                      expect=200)
    assert closed["status"] == "closed" and closed["actions"][0]["is_effective"] is True


def test_openapi_lists_the_quality_operations(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/examinations", "/api/v1/sop-versions/{version_id}/approve",
                 "/api/v1/examinations/{exam_id}/technical-review",
                 "/api/v1/examinations/{exam_id}/release", "/api/v1/compliance/findings"):
        assert path in spec["paths"], path


def test_quality_writes_are_audited_and_reviews_are_in_the_chain(app, client):
    from sqlalchemy import select

    from ballistics.audit.models import AuditEntry
    from ballistics.audit.services import verify_audit_chain

    kit = make_lab()
    sc = build(kit)
    tables = set(db.session.scalars(select(AuditEntry.object_type)
                                    .where(AuditEntry.chain_key == kit.lab.id)))
    assert {"sops", "sop_versions", "authorisations", "examinations", "step_records",
            "examination_reviews", "calibration_records"} <= tables
    assert "findings" not in tables  # derived rows, recomputed from the audited facts
    released = db.session.scalar(select(AuditEntry).where(
        AuditEntry.object_type == "examinations", AuditEntry.object_id == str(sc.exam.id),
        AuditEntry.action == "update").order_by(AuditEntry.id.desc()))
    assert released.after["status"] == "released"
    assert verify_audit_chain(db.session, kit.lab.id).ok


def test_another_labs_examiner_competency_answers_404(app, client):
    """A supervisor asking for the competency of another lab's examiner gets 404, as for every
    record of another lab (it answered 422 'not an active member of your lab', a refusal
    the lab's own deactivated colleagues get); the page answers alike."""
    kit, other = make_lab(), make_lab()
    stranger = other.id("examiner")
    deactivated = kit.id("examiner2")
    Api(client, kit, "admin").post(f"/users/{deactivated}/deactivate", expect=200)
    for who in ("reviewer", "manager"):
        api = Api(client, kit, who)
        body = api.get(f"/examiners/{stranger}/competency", expect=404)
        assert body["error"] == "not_found" and body["fields"] == {}, body
        api.get(f"/examiners/{2**31 - 1}/competency", expect=404)
        assert api.get(f"/examiners/{deactivated}/competency", expect=422)["fields"] == {
            "user_id": ["Unknown user in this lab."]}
    # a role that may not see others' competency is refused alike for every other id
    examiner = Api(client, kit, "examiner")
    assert examiner.get(f"/examiners/{stranger}/competency", expect=403) == examiner.get(
        f"/examiners/{kit.id('reviewer')}/competency", expect=403)
    page = Browser(app, kit, "manager")
    page.get(f"/quality/examiners/{stranger}/competency", expect=404)


def test_findings_filtered_by_an_unknown_rule_are_refused_naming_it(app, client):
    """A misspelt rule id matched no finding and answered an empty list, which reads as "no
    finding": it is refused naming the filter, as the findings page refuses it."""
    kit = make_lab()
    build(kit, break_="SOP-ACKNOWLEDGED")
    api = Api(client, kit, "manager")
    assert [f["rule_id"] for f in api.get("/compliance/findings?rule_id=SOP-ACKNOWLEDGED")] == [
        "SOP-ACKNOWLEDGED"]
    for query in ("rule_id=SOP_ACKNOWLEDGED", "rule_id=sop-acknowledged", "examination_id=0"):
        body = api.get(f"/compliance/findings?{query}", expect=422)
        assert list(body["fields"]) == [query.split("=")[0]], body
