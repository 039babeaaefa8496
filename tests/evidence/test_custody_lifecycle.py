"""A whole submission's life: receive, seal, store, check out, sample, return, dispose."""

from __future__ import annotations

import itertools

from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import Item
from ballistics.extensions import db
from tests.evidence.helpers import tamper_reason
from tests.support.web import Api


def test_full_lifecycle_and_tamper_detection(app, client, lab):
    tech, examiner = Api(client, lab, "tech"), Api(client, lab, "examiner")
    case = tech.new_case()
    assert case["lab_case_number"].startswith(f"{lab.lab.code}-")
    pistol = tech.receive(case["id"], "firearm", make="Ruger", model="P95",
                          serial_number="312-45678", calibre="9mm Luger")
    cases_ = [tech.receive(case["id"], "cartridge_case", calibre="9mm Luger") for _ in range(3)]
    assert [c["number"] for c in cases_] == ["2", "3", "4"]

    tech.post(f"/items/{pistol['id']}/seal", {"seal_number": "S-1"})
    tech.post(f"/items/{pistol['id']}/store", {"location_id": lab.location_id})
    out = examiner.post(f"/items/{pistol['id']}/check-out", {"reason": "examination"})
    assert out["to_user_id"] == lab.id("examiner")
    examiner.post(f"/items/{pistol['id']}/unseal", {"reason": "test firing"})
    fires = [examiner.post(f"/items/{pistol['id']}/sample",
                           {"kind": "test_fire", "description": f"test fire {n}"})
             for n in (1, 2)]
    assert [f["number"] for f in fires] == ["1.1", "1.2"]
    assert all(f["parent_id"] == pistol["id"] and f["holder"]["type"] == "user" for f in fires)
    examiner.post(f"/items/{pistol['id']}/seal", {"seal_number": "S-2"})
    examiner.post(f"/items/{pistol['id']}/return", {"location_id": lab.location_id})

    for c in cases_:
        tech.post(f"/items/{c['id']}/store", {"location_id": lab.location_id})
    manager = tech.as_("manager")
    manager.post(f"/items/{cases_[0]['id']}/check-out", {"reason": "to the court"})
    manager.post(f"/items/{cases_[0]['id']}/release",
                 {"to_agency": "Central Police", "reason": "court exhibit"})
    # Nobody holds an item in storage: the manager's override, confirmed by a second person.
    request = manager.post(f"/items/{cases_[1]['id']}/disposal-requests", {
        "action": "destroy", "override_reason": "court_order", "reason": "court order 12/2026",
        "witness_id": lab.id("examiner"), "method": "crushed"})
    assert tech.get(f"/items/{cases_[1]['id']}")["status"] == "in_custody"
    tech.post(f"/disposal-requests/{request['id']}/confirm")

    history = tech.get(f"/items/{pistol['id']}/custody")
    assert [e["kind"] for e in history] == [
        "received", "sealed", "stored", "checked_out", "unsealed", "sampled", "sampled",
        "sealed", "returned"]
    assert [e["seq"] for e in history] == list(range(1, 10))
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(history))
    assert tech.get(f"/items/{cases_[0]['id']}")["status"] == "released"
    destroyed = tech.get(f"/items/{cases_[1]['id']}/custody")[-1]
    assert destroyed["kind"] == "destroyed" and destroyed["witness_id"] == lab.id("examiner")
    assert destroyed["actor_id"] == lab.id("manager")
    assert destroyed["details"] == {"method": "crushed", "override": "court_order",
                                    "override_request_id": request["id"],
                                    "confirmed_by_id": lab.id("tech")}
    for item in [pistol, *cases_, *fires]:
        assert tech.get(f"/items/{item['id']}/verify")["ok"] is True

    # Someone with database access alters a past event: verification names it.
    victim = history[3]
    tamper_reason(victim["id"])
    report = verify_chain(db.session, db.session.get(Item, pistol["id"]))
    assert not report.ok
    assert report.broken_event_id == victim["id"] and report.broken_seq == 4
    assert "event 4 (checked_out" in report.reason
    api_report = tech.get(f"/items/{pistol['id']}/verify")
    assert api_report["ok"] is False and api_report["broken_event_id"] == victim["id"]
    # The other items' chains are untouched.
    assert tech.get(f"/items/{fires[0]['id']}/verify")["ok"] is True
