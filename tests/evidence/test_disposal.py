"""Release and destruction without gaps: in the actor's hands or by a manager's override that a
second person confirms; refused while an examination or a seal holds the item; disposed items
take no new work; sealed items are unsealed before they are sampled or scanned. Every refusal
answers with its reason and writes nothing (row counts and the lab's audit chain unchanged)."""

from __future__ import annotations

import io

from ballistics.comparisons.models import Scan, ScanStatus
from ballistics.core import timeutil
from ballistics.evidence.models import Item
from ballistics.extensions import db
from tests.comparisons.helpers import x3p_bytes
from tests.evidence.helpers import refused, snapshot
from tests.sop.scenario import make_sop, qualify
from tests.support.web import Api, Browser


def _upload(client, kit, who: str, item_id: int, data: bytes):
    return client.post(f"/api/v1/items/{item_id}/scans", headers=kit.headers(who),
                       data={"file": (io.BytesIO(data), "cc.x3p")},
                       content_type="multipart/form-data")


def test_release_and_destruction_need_the_item_in_hand_or_a_confirmed_override(app, client,
                                                                              lab, other_lab):
    lab_id = lab.lab.id
    tech = Api(client, lab, "tech")
    manager, examiner = tech.as_("manager"), tech.as_("examiner")
    item = tech.receive(tech.new_case()["id"], "firearm")
    path = f"/items/{item['id']}"
    # Someone who does not hold it, even a manager, cannot release or destroy it directly.
    refused(examiner, f"{path}/release", {"to_agency": "Court", "reason": "exhibit"}, 409,
            "not_holder", "must be in your hands", lab_id)
    refused(manager, f"{path}/destroy", {"witness_id": lab.id("tech"), "reason": "cleanup"},
            409, "not_holder", "you may request an override", lab_id)
    # The override needs a reason from the list.
    answer = refused(manager, f"{path}/disposal-requests", {
        "action": "destroy", "override_reason": "cleanup", "reason": "cleanup",
        "witness_id": lab.id("examiner")}, 422, "validation_error", "override_reason", lab_id)
    assert list(answer["fields"]) == ["override_reason"]
    # A sealed item is not disposed of unseen by an override.
    tech.post(f"{path}/seal", {"seal_number": "S-77"})
    refused(manager, f"{path}/disposal-requests", {
        "action": "destroy", "override_reason": "holder_left", "reason": "tech left",
        "witness_id": lab.id("examiner")}, 409, "item_sealed", "is sealed (S-77)", lab_id)
    tech.post(f"{path}/unseal", {"reason": "inventory before disposal"})

    request = manager.post(f"{path}/disposal-requests", {
        "action": "destroy", "override_reason": "holder_left", "reason": "tech left the lab",
        "witness_id": lab.id("examiner"), "method": "crushed"})
    assert request["status"] == "pending"
    # Until a second person confirms, nothing happens to the item.
    assert tech.get(path)["status"] == "in_custody"
    refused(manager, f"/disposal-requests/{request['id']}/confirm", None, 403, "own_request",
            "a second person must confirm", lab_id)
    refused(manager, f"{path}/disposal-requests", {
        "action": "release", "override_reason": "court_order", "reason": "order 3/26",
        "to_agency": "Court"}, 409, "request_pending", "waiting for confirmation", lab_id)
    # The rules are judged again at the confirmation: the item was sealed meanwhile.
    tech.post(f"{path}/seal", {"seal_number": "S-78"})
    refused(tech, f"/disposal-requests/{request['id']}/confirm", None, 409, "item_sealed",
            "is sealed (S-78)", lab_id)
    tech.post(f"{path}/unseal", {"reason": "for the disposal"})
    Api(client, other_lab, "tech").post(f"/disposal-requests/{request['id']}/confirm",
                                        expect=404)
    event = examiner.post(f"/disposal-requests/{request['id']}/confirm")
    assert (event["kind"], event["actor_id"], event["witness_id"]) == (
        "destroyed", lab.id("manager"), lab.id("examiner"))
    assert event["details"]["confirmed_by_id"] == lab.id("examiner")
    assert event["details"]["override"] == "holder_left"
    assert tech.get(path)["status"] == "destroyed"
    assert [r["status"] for r in tech.get(f"{path}/disposal-requests")] == ["confirmed"]
    refused(tech, f"/disposal-requests/{request['id']}/confirm", None, 409, "request_decided",
            "already confirmed", lab_id)
    assert tech.get(f"{path}/verify")["ok"] is True
    # The timeline names who confirmed and why, in the reader's words (was "confirmed by id: 7,
    # override: holder_left, override request id: 1").
    page = Browser(app, lab, "tech")
    page.client.set_cookie("lang", "es")
    text = page.get(f"/items/{item['id']}")
    assert f"confirmado por: {lab.users['examiner'].full_name}" in text, text
    assert "intervención del jefe de laboratorio: " in text and "holder_left" not in text
    assert "confirmed by id" not in text


def test_an_open_examination_keeps_its_items(app, client, lab):
    lab_id = lab.lab.id
    version = make_sop(lab)
    qualify(lab, version, "examiner", today=timeutil.utcnow().date())
    db.session.commit()
    examiner = Api(client, lab, "examiner")
    item = examiner.receive(examiner.new_case()["id"])
    exam = examiner.post("/examinations", {"sop_version_id": version.id,
                                           "item_ids": [item["id"]]})
    words = f"it is in open examination {exam['id']} (in progress)"
    path = f"/items/{item['id']}"
    refused(examiner, f"{path}/release", {"to_agency": "Court", "reason": "exhibit"}, 409,
            "item_in_examination", words, lab_id)
    refused(examiner, f"{path}/destroy", {"witness_id": lab.id("tech"), "reason": "done"}, 409,
            "item_in_examination", words, lab_id)
    refused(examiner.as_("manager"), f"{path}/disposal-requests", {
        "action": "release", "override_reason": "holder_absent", "reason": "on leave",
        "to_agency": "Court"}, 409, "item_in_examination", words, lab_id)


def test_disposed_items_take_no_new_work_and_sealed_items_are_opened_first(app, client, lab):
    lab_id = lab.lab.id
    examiner = Api(client, lab, "examiner")
    case_id = examiner.new_case()["id"]
    gone, sealed, released = (examiner.receive(case_id) for _ in range(3))
    firearm = examiner.receive(case_id, "firearm", calibre="9mm Luger")
    # A scan of the item that will be released, done before its release.
    response = _upload(client, lab, "examiner", released["id"], x3p_bytes(1, 0))
    assert response.status_code == 201, response.get_json()
    scan = db.session.get(Scan, response.get_json()["id"])
    scan.status = ScanStatus.DONE
    db.session.commit()
    examiner.post(f"/items/{gone['id']}/destroy", {"witness_id": lab.id("tech"),
                                                   "reason": "court order 9/26"})
    examiner.post(f"/items/{released['id']}/release", {"to_agency": "Defence expert",
                                                       "reason": "independent examination"})
    today = timeutil.utcnow().date().isoformat()

    for data in (x3p_bytes(0, 0),):
        before = snapshot(lab_id)
        response = _upload(client, lab, "examiner", gone["id"], data)
        assert response.status_code == 409 and response.get_json()["error"] == "item_disposed"
        assert (f"was destroyed on {today}; it takes no new scans"
                in response.get_json()["message"])
        assert snapshot(lab_id) == before
    refused(examiner, f"/scans/{scan.id}/searches", {"k": 10}, 409, "item_disposed",
            f"was released on {today}; it takes no new searches", lab_id)
    refused(examiner, f"/items/{gone['id']}/sample", {"kind": "other"}, 409, "item_disposed",
            "it takes no samples", lab_id)
    version = make_sop(lab)
    db.session.commit()
    refused(examiner, "/examinations", {"sop_version_id": version.id,
                                        "item_ids": [released["id"]]}, 409, "item_disposed",
            "it takes no new examinations", lab_id)

    # A sealed item: neither scanned nor sampled until its seal is broken on record.
    examiner.post(f"/items/{sealed['id']}/seal", {"seal_number": "S-9"})
    examiner.post(f"/items/{firearm['id']}/seal", {"seal_number": "S-10"})
    before = snapshot(lab_id)
    response = _upload(client, lab, "examiner", sealed["id"], x3p_bytes(0, 1))
    assert response.status_code == 409 and response.get_json()["error"] == "item_sealed"
    assert "break the seal first (an unseal custody event) before scanning" in \
        response.get_json()["message"]
    assert snapshot(lab_id) == before
    refused(examiner, f"/items/{firearm['id']}/sample", {"kind": "test_fire"}, 409,
            "item_sealed", "is sealed (S-10); break the seal first", lab_id)
    examiner.post(f"/items/{firearm['id']}/unseal", {"reason": "test firing"})
    fire = examiner.post(f"/items/{firearm['id']}/sample", {"kind": "test_fire"})
    assert fire["calibre"] == "9mm Luger"
    kinds = [e["kind"] for e in examiner.get(f"/items/{firearm['id']}/custody")]
    assert kinds == ["received", "sealed", "unsealed", "sampled"]
    assert db.session.get(Item, sealed["id"]).intact_seal.number == "S-9"
