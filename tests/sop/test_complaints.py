"""Complaints (ISO/IEC 17025 §7.9) through the API: the whole lifecycle, each step by a
permitted role and in order, §7.9.6 impartiality refused with nothing written, per-lab
isolation, append-only contacts and the overdue acknowledgments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.core.errors import AppendOnlyViolation
from ballistics.extensions import db
from sop.models import Complaint, ComplaintCase, ComplaintContact, Nonconformity
from sop.services import complaints
from tests.sop.scenario import build, second_manager
from tests.support.labs import make_lab
from tests.support.web import Api


def _today(kit):
    return kit.lab.today()


def _complaint(api: Api, kit, **extra) -> dict:
    body = {"received_on": _today(kit).isoformat(), "complainant_name": "Judge R. Alvarez",
            "complainant_organisation": "Third Criminal Court", "complainant_kind": "court",
            "channel": "letter",
            "subject": "The report on case 42 was late and named the wrong exhibit.", **extra}
    return api.post("/complaints", body)


def _state(complaint_id: int) -> tuple:
    """What a refused step must leave unchanged."""
    db.session.expire_all()
    c = db.session.get(Complaint, complaint_id)
    contacts = db.session.scalar(select(func.count(ComplaintContact.id)).where(
        ComplaintContact.complaint_id == complaint_id))
    ncs = db.session.scalar(select(func.count(Nonconformity.id)).where(
        Nonconformity.lab_id == c.lab_id))
    return (c.status, c.investigator_id, c.decision, c.outcome, c.closed_on, c.nonconformity_id,
            contacts, ncs)


def test_lifecycle_with_impartiality_refusals(app, client):
    kit = make_lab()
    # A released examination on a case: examiner, reviewer (technical review) and manager
    # (administrative review) are involved in it; examiner2 and manager2 are not.
    sc = build(kit)
    second_manager(kit)
    db.session.commit()
    case_id = sc.ids["case"]
    today = _today(kit)
    tech, mgr2 = Api(client, kit, "tech"), Api(client, kit, "manager2")

    # Recording: not in the future, only the lab's own cases; a refusal writes nothing.
    future = (today + timedelta(days=2)).isoformat()
    body = tech.post("/complaints", {"received_on": future, "complainant_name": "A",
                                     "complainant_kind": "court", "channel": "email",
                                     "subject": "x"}, expect=422)
    assert list(body["fields"]) == ["received_on"]
    other = make_lab()
    other_case = Api(client, other, "tech").new_case()["id"]
    body = tech.post("/complaints", {"received_on": today.isoformat(), "complainant_name": "A",
                                     "complainant_kind": "court", "channel": "email",
                                     "subject": "x", "case_ids": [other_case]}, expect=422)
    assert list(body["fields"]) == ["case_ids"]
    assert db.session.scalar(select(func.count(Complaint.id)).where(
        Complaint.lab_id == kit.lab.id)) == 0

    c = _complaint(tech, kit, case_ids=[case_id])
    cid = c["id"]
    assert c["status"] == "received" and c["case_ids"] == [case_id]
    assert c["reference"] == f"CP-{today.year}-0001" and c["recorded_by_id"] == kit.id("tech")

    # Out of order: nothing but acknowledgment from "received".
    for path, payload in ((f"/complaints/{cid}/assign", {"investigator_id": kit.id("examiner2")}),
                          (f"/complaints/{cid}/decide", {"decision": "upheld", "outcome": "x"}),
                          (f"/complaints/{cid}/close", {"communicated_on": today.isoformat()}),
                          (f"/complaints/{cid}/contacts", {"contacted_on": today.isoformat(),
                                                           "note": "x"})):
        before = _state(cid)
        body = mgr2.post(path, payload, expect=409)
        assert body["error"] == "wrong_status" and "received" in body["message"]
        assert _state(cid) == before

    # §7.9.5: acknowledged (not before receipt, not in the future), then kept informed.
    tech.post(f"/complaints/{cid}/acknowledge", {"acknowledged_on": future}, expect=422)
    c = tech.post(f"/complaints/{cid}/acknowledge",
                  {"acknowledged_on": today.isoformat(), "note": "Letter sent."}, expect=200)
    assert c["status"] == "acknowledged" and c["acknowledged_on"] == today.isoformat()
    tech.post(f"/complaints/{cid}/acknowledge", {"acknowledged_on": today.isoformat()},
              expect=409)
    tech.post(f"/complaints/{cid}/contacts", {"contacted_on": today.isoformat(),
                                              "note": "Told it is being looked into."})

    # Assigning: a lab manager's; never someone involved in the work complained of.
    tech.post(f"/complaints/{cid}/assign", {"investigator_id": kit.id("examiner2")},
              expect=403)
    for involved in ("examiner", "reviewer", "manager"):
        before = _state(cid)
        body = mgr2.post(f"/complaints/{cid}/assign", {"investigator_id": kit.id(involved)},
                         expect=422)
        assert list(body["fields"]) == ["investigator_id"], involved
        assert _state(cid) == before
    c = mgr2.post(f"/complaints/{cid}/assign", {"investigator_id": kit.id("examiner2")},
                  expect=200)
    assert c["status"] == "under_investigation" and c["investigator_id"] == kit.id("examiner2")
    assert c["is_within_scope"] is True

    # Deciding: the investigator or a manager not involved. The involved manager is refused;
    # the investigator (not a manager) cannot raise the nonconformity; a nonconformity needs
    # an upheld complaint. Each refusal writes nothing.
    before = _state(cid)
    body = Api(client, kit, "manager").post(f"/complaints/{cid}/decide", {
        "decision": "upheld", "outcome": "Late."}, expect=409)
    assert body["error"] == "not_impartial" and list(body["fields"]) == ["actor"]
    Api(client, kit, "examiner").post(f"/complaints/{cid}/decide", {
        "decision": "upheld", "outcome": "Late."}, expect=403)
    Api(client, kit, "examiner2").post(f"/complaints/{cid}/decide", {
        "decision": "upheld", "outcome": "Late.", "raise_nonconformity": True}, expect=403)
    body = mgr2.post(f"/complaints/{cid}/decide", {
        "decision": "not_upheld", "outcome": "x", "raise_nonconformity": True}, expect=422)
    assert list(body["fields"]) == ["raise_nonconformity"]
    assert _state(cid) == before
    c = mgr2.post(f"/complaints/{cid}/decide", {
        "decision": "upheld", "outcome": "The report was 12 days late; exhibit mislabelled.",
        "raise_nonconformity": True}, expect=200)
    assert c["status"] == "decided" and c["decision"] == "upheld"
    nc = mgr2.get(f"/nonconformities/{c['nonconformity_id']}")
    assert nc["title"] == c["reference"].join(["Complaint ", " upheld"])
    assert "12 days late" in nc["description"]

    # §7.9.7: the end communicated, approved by a manager not involved.
    before = _state(cid)
    Api(client, kit, "manager").post(f"/complaints/{cid}/close", {
        "communicated_on": today.isoformat()}, expect=409)
    Api(client, kit, "examiner2").post(f"/complaints/{cid}/close", {
        "communicated_on": today.isoformat()}, expect=403)
    assert _state(cid) == before
    c = mgr2.post(f"/complaints/{cid}/close", {"communicated_on": today.isoformat(),
                                              "note": "Outcome letter sent."}, expect=200)
    assert c["status"] == "closed" and c["closed_by_id"] == kit.id("manager2")
    assert [x["kind"] for x in c["contacts"]] == ["acknowledgment", "progress", "outcome"]
    # Closed is the end: no step after it.
    mgr2.post(f"/complaints/{cid}/contacts", {"contacted_on": today.isoformat(), "note": "x"},
              expect=409)
    mgr2.post(f"/complaints/{cid}/close", {"communicated_on": today.isoformat()}, expect=409)

    # Everything is in the audit log; what the complainant was told cannot be rewritten.
    audited = db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.object_type == "complaints", AuditEntry.object_id == str(cid)))
    assert audited >= 5
    contact = db.session.scalars(select(ComplaintContact).where(
        ComplaintContact.complaint_id == cid)).first()
    contact.note = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


def test_recorder_does_not_approve_and_rejection_closes_not_upheld(app, client):
    kit = make_lab()
    second_manager(kit)
    db.session.commit()
    today = _today(kit)
    mgr, mgr2 = Api(client, kit, "manager"), Api(client, kit, "manager2")
    # manager2 took the complaint from the complainant: someone else approves its outcome.
    cid = _complaint(mgr2, kit)["id"]
    mgr2.post(f"/complaints/{cid}/acknowledge", {"acknowledged_on": today.isoformat()},
              expect=200)
    before = _state(cid)
    body = mgr2.post(f"/complaints/{cid}/reject", {
        "reason": "About the police's collection.", "communicated_on": today.isoformat()},
        expect=409)
    assert body["error"] == "not_impartial" and "recorded" in body["message"]
    assert _state(cid) == before
    c = mgr.post(f"/complaints/{cid}/reject", {
        "reason": "About the police's collection at the scene, not the lab's work.",
        "communicated_on": today.isoformat()}, expect=200)
    assert (c["status"], c["decision"], c["is_within_scope"]) == ("closed", "not_upheld", False)
    assert c["closed_by_id"] == kit.id("manager") and c["contacts"][-1]["kind"] == "outcome"


def test_another_labs_complaint_is_404_and_register_filters(app, client):
    kit = make_lab()
    today = _today(kit)
    tech, mgr = Api(client, kit, "tech"), Api(client, kit, "manager")
    old = _complaint(tech, kit, received_on=(today - timedelta(days=20)).isoformat())
    fresh = _complaint(tech, kit)
    done = _complaint(tech, kit, received_on=(today - timedelta(days=20)).isoformat())
    tech.post(f"/complaints/{done['id']}/acknowledge", {"acknowledged_on": today.isoformat()},
              expect=200)

    stranger = Api(client, make_lab(), "manager")
    body = stranger.get(f"/complaints/{old['id']}", expect=404)
    assert "in your lab" in body["message"]
    stranger.post(f"/complaints/{old['id']}/acknowledge",
                  {"acknowledged_on": today.isoformat()}, expect=404)
    assert stranger.get("/complaints") == []

    assert [c["id"] for c in mgr.get("/complaints?overdue=true")] == [old["id"]]
    assert {c["id"] for c in mgr.get("/complaints?status=received")} == {old["id"], fresh["id"]}
    assert len(mgr.get("/complaints")) == 3
    # The register is a manager's; whoever recorded a complaint still sees it.
    Api(client, kit, "examiner").get("/complaints", expect=403)
    Api(client, kit, "examiner").get(f"/complaints/{old['id']}", expect=403)
    assert tech.get(f"/complaints/{old['id']}")["reference"] == old["reference"]
    assert complaints.open_count(kit.lab.id) == 3
    assert db.session.scalar(select(func.count(ComplaintCase.id)).where(
        ComplaintCase.lab_id == kit.lab.id)) == 0


def test_working_days():
    from datetime import date

    # Friday 2026-11-27 + 5 working days is Friday 2026-12-04 (the weekend skipped).
    assert complaints.working_days_after(date(2026, 11, 27), 5) == date(2026, 12, 4)
    assert complaints.working_days_after(date(2026, 11, 28), 1) == date(2026, 11, 30)
