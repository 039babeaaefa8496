"""Refused operations answer clearly and write nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.evidence.models import CustodyEvent
from ballistics.extensions import db
from tests.support.web import Api


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(CustodyEvent.id))),
            db.session.scalar(select(func.count(AuditEntry.id))))


def test_handover_by_non_holder_is_409_and_writes_nothing(app, client, lab):
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"])
    before = _counts()
    body = tech.as_("examiner").post(f"/items/{item['id']}/transfer",
                                     {"to_user_id": lab.id("examiner2")}, expect=409)
    assert body["error"] == "not_holder"
    assert "do not hold" in body["message"] and item["barcode"] in body["message"]
    assert body["fields"] == {}
    assert _counts() == before
    assert tech.get(f"/items/{item['id']}")["holder"]["id"] == lab.id("tech")


def test_manager_may_hand_over_an_item_they_do_not_hold(app, client, lab):
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"])
    event = tech.as_("manager").post(f"/items/{item['id']}/transfer",
                                     {"to_user_id": lab.id("examiner"), "reason": "tech away"})
    assert event["from_user_id"] == lab.id("tech") and event["actor_id"] == lab.id("manager")


def test_destroy_without_witness_is_422_naming_the_field(app, client, lab):
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"])
    before = _counts()
    body = tech.post(f"/items/{item['id']}/destroy", {"reason": "court order"}, expect=422)
    assert "witness_id" in body["fields"] and "witness" in body["message"].lower()
    body = tech.post(f"/items/{item['id']}/destroy",
                     {"reason": "court order", "witness_id": lab.id("tech")}, expect=422)
    assert "witness_id" in body["fields"]
    assert _counts() == before
    assert tech.get(f"/items/{item['id']}")["status"] == "in_custody"


def test_unknown_field_and_wrong_type_are_422_naming_the_field(app, client, lab):
    tech = Api(client, lab, "tech")
    case = tech.new_case()
    body = tech.post(f"/cases/{case['id']}/items",
                     {"kind": "bullet", "from_agency": "P", "colour": "red"}, expect=422)
    assert body == {"error": "validation_error", "message": "Invalid input in: colour.",
                    "fields": {"colour": ["Unknown field."]}}
    body = tech.post(f"/cases/{case['id']}/items",
                     {"kind": "bullet", "from_agency": "P", "quantity": "many"}, expect=422)
    assert list(body["fields"]) == ["quantity"]
    body = tech.post(f"/cases/{case['id']}/items", {"kind": "rocket", "from_agency": "P"},
                     expect=422)
    assert list(body["fields"]) == ["kind"]
    body = tech.post("/cases", {}, expect=422)
    assert body["fields"] == {"submitting_agency": ["Missing data for required field."]}
    response = client.post("/api/v1/cases", data="{not json", headers={
        **lab.headers("tech"), "Content-Type": "application/json"})
    assert response.status_code == 422 and "_body" in response.get_json()["fields"]


def test_disposed_item_moves_no_more(app, client, lab):
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"])
    tech.post(f"/items/{item['id']}/release", {"to_agency": "Court", "reason": "exhibit"})
    body = tech.post(f"/items/{item['id']}/seal", {"seal_number": "S"}, expect=409)
    assert body["error"] == "item_disposed"


def test_stale_expected_seq_is_refused(app, client, lab):
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"])
    body = tech.post(f"/items/{item['id']}/transfer",
                     {"to_user_id": lab.id("examiner"), "expected_seq": 5}, expect=409)
    assert body["error"] == "stale_item"


def test_another_labs_records_answer_404(app, client, lab, other_lab):
    mine = Api(client, lab, "tech")
    case = mine.new_case()
    item = mine.receive(case["id"])
    theirs = Api(client, other_lab, "manager")
    for path in (f"/items/{item['id']}", f"/items/{item['id']}/custody",
                 f"/items/{item['id']}/verify", f"/cases/{case['id']}"):
        body = theirs.get(path, expect=404)
        assert item["barcode"] not in str(body) and "Central Police" not in str(body)
    theirs.post(f"/items/{item['id']}/transfer", {"to_user_id": other_lab.id("tech")},
                expect=404)
    assert theirs.get("/cases") == []
    # A hand-over to a user of another lab is refused and names the field.
    body = mine.post(f"/items/{item['id']}/transfer", {"to_user_id": other_lab.id("tech")},
                     expect=422)
    assert "to_user_id" in body["fields"]


def test_api_requires_a_valid_bearer_token(app, client):
    assert client.get("/api/v1/cases").status_code == 401
    response = client.get("/api/v1/cases", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_admin_role_cannot_handle_evidence(app, client, lab):
    body = Api(client, lab, "admin").post("/cases", {"submitting_agency": "X"}, expect=403)
    assert "role" in body["message"]


def test_spanish_refusals_name_the_action_and_status_in_spanish(app, client, lab):
    """A Spanish refusal said '... antes de sampling.' and 'El indicio X fue released; ya no se
    mueve.': the action and the stored status code were put into the sentence as they were."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "firearm")
    tech.post(f"/items/{item['id']}/seal", {"seal_number": "S-1"})
    spanish = {**lab.headers("tech"), "Accept-Language": "es"}

    def refused(action: str, body: dict) -> str:
        response = client.post(f"/api/v1/items/{item['id']}/{action}", json=body,
                               headers=spanish)
        assert response.status_code == 409, response.get_json()
        return response.get_json()["message"]

    before = _counts()
    message = refused("sample", {"kind": "test_fire"})
    assert message.endswith("antes de muestrearlo."), message
    assert _counts() == before
    tech.post(f"/items/{item['id']}/release", {"to_agency": "Court", "reason": "trial"})
    message = refused("transfer", {"to_user_id": lab.id("examiner")})
    assert message == f"El indicio {item['barcode']} fue entregado; ya no se mueve.", message
