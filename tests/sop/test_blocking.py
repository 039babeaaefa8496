"""Blocking rules and refusals: clear messages, nothing written."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.core import timeutil
from ballistics.extensions import db
from sop.models import Examination, ExaminationReview
from tests.sop.scenario import as_, make_sop, qualify, second_manager
from tests.support.labs import make_lab
from tests.support.web import Api


def _counts():
    db.session.expire_all()
    return (db.session.scalar(select(func.count(Examination.id))),
            db.session.scalar(select(func.count(AuditEntry.id))))


def _items_with(api: Api, kit, who: str) -> list[int]:
    tech = api.as_("tech")
    case = tech.new_case()
    item = tech.receive(case["id"])
    tech.post(f"/items/{item['id']}/transfer", {"to_user_id": kit.id(who)})
    return [item["id"]]


def test_unauthorised_examiner_cannot_start(app, client):
    kit = make_lab()
    version = make_sop(kit)
    db.session.commit()
    api = Api(client, kit, "examiner")
    items = _items_with(api, kit, "examiner")
    before = _counts()
    body = api.post("/examinations", {"sop_version_id": version.id, "item_ids": items},
                    expect=403)
    assert body["error"] == "examiner_authorised"
    assert "held no authorisation for FA-06" in body["message"]
    assert body["message"].startswith("Examiner authorised for the SOP:")
    assert _counts() == before


def test_version_not_in_force_cannot_be_used(app, client):
    kit = make_lab()
    manager = kit.users["manager"]
    from sop.services import documents

    with as_(manager):
        sop = documents.create_sop(manager, code="FA-03", title="Test firing")
        draft = documents.create_version(manager, sop, steps=[])
    db.session.commit()
    api = Api(client, kit, "examiner")
    items = _items_with(api, kit, "examiner")
    body = api.post("/examinations", {"sop_version_id": draft.id, "item_ids": items},
                    expect=409)
    assert body["error"] == "sop_effective"
    assert "never made effective (status draft)" in body["message"]


def test_author_cannot_approve_own_version(app, client):
    kit = make_lab()
    second_manager(kit)
    db.session.commit()
    api = Api(client, kit, "manager")
    sop = api.post("/sops", {"code": "FA-09", "title": "Hit confirmation"})
    version = api.post(f"/sops/{sop['id']}/versions", {"summary": "v1", "steps": [
        {"title": "Compare", "is_value_required": True, "value_label": "magnification",
         "unit": "x", "min_value": 10, "max_value": 60}]})
    # A draft is sent for review before anyone approves it.
    body = api.as_("manager2").post(f"/sop-versions/{version['id']}/approve", expect=409)
    assert body["error"] == "not_in_review"
    api.as_("examiner").post(f"/sop-versions/{version['id']}/submit-for-review", expect=403)
    in_review = api.post(f"/sop-versions/{version['id']}/submit-for-review", expect=200)
    assert in_review["status"] == "in_review"
    body = api.post(f"/sop-versions/{version['id']}/approve", expect=403)
    assert body["error"] == "own_version" and "another manager" in body["message"]
    assert api.get(f"/sop-versions/{version['id']}")["status"] == "in_review"
    api.as_("examiner").post(f"/sop-versions/{version['id']}/approve", expect=403)
    approved = api.as_("manager2").post(f"/sop-versions/{version['id']}/approve", expect=200)
    assert approved["status"] == "approved" and approved["approved_by_id"] == kit.id("manager2")
    effective = api.post(f"/sop-versions/{version['id']}/activate", {}, expect=200)
    assert effective["status"] == "effective"
    assert effective["effective_from"] == timeutil.utcnow().date().isoformat()


def test_step_without_value_label_is_422_naming_the_field(app, client):
    kit = make_lab()
    api = Api(client, kit, "manager")
    sop = api.post("/sops", {"code": "FA-01", "title": "Function testing"})
    body = api.post(f"/sops/{sop['id']}/versions",
                    {"steps": [{"title": "Trigger pull", "is_value_required": True}]},
                    expect=422)
    # flat, as documented: a nested field is named by its path
    assert body["fields"] == {"steps.0.value_label": ["Name the value the step must record."]}


def _completed_exam(kit, client):
    version = make_sop(kit)
    today = timeutil.utcnow().date()
    qualify(kit, version, "examiner", today=today)
    qualify(kit, version, "reviewer", today=today)
    db.session.commit()
    api = Api(client, kit, "examiner")
    items = _items_with(api, kit, "examiner")
    exam = api.post("/examinations", {"sop_version_id": version.id, "item_ids": items})
    for step in version.steps:
        api.post(f"/examinations/{exam['id']}/steps",
                 {"step_id": step.id, "value": 20 if step.is_value_required else None})
    api.post(f"/examinations/{exam['id']}/complete", {"result": "elimination"}, expect=200)
    return api, exam


def test_report_cannot_be_released_before_both_reviews(app, client):
    kit = make_lab()
    api, exam = _completed_exam(kit, client)
    path = f"/examinations/{exam['id']}"
    body = api.post(f"{path}/release", expect=409)
    # A refused release says what it still needs: it does not say the report was released.
    assert body["error"] == "tech_review" and "has no technical review yet" in body["message"]
    assert "was released" not in body["message"]
    # A reviewer may not review their own work; an examiner without the role may not review.
    api.post(f"{path}/technical-review", {"outcome": "agree"}, expect=403)
    body = api.as_("reviewer").post(f"{path}/technical-review", {"outcome": "disagree"},
                                    expect=422)
    assert list(body["fields"]) == ["reasons"]
    api.as_("reviewer").post(f"{path}/technical-review",
                             {"outcome": "disagree", "reasons": "Marks at 3 o'clock differ."})
    body = api.post(f"{path}/release", expect=409)
    assert "disagreed: Marks at 3 o'clock differ." in body["message"]
    api.as_("reviewer").post(f"{path}/technical-review",
                             {"outcome": "agree", "reasons": "Resolved after re-examination."})
    body = api.post(f"{path}/release", expect=409)
    assert body["error"] == "admin_review"
    assert body["message"] == ("Administrative review before release: The report has no "
                               "administrative review yet.")
    api.as_("manager").post(f"{path}/administrative-review", {"outcome": "approved"})
    released = api.post(f"{path}/release", expect=200)
    assert released["status"] == "released"
    # Both technical reviews stay on record: the disagreement was appended to, not overwritten.
    assert [r["outcome"] for r in released["reviews"]] == ["disagree", "agree", "approved"]
    api.post(f"{path}/release", expect=409)


def test_reviews_are_append_only(app, client):
    kit = make_lab()
    api, exam = _completed_exam(kit, client)
    api.as_("reviewer").post(f"/examinations/{exam['id']}/technical-review",
                             {"outcome": "disagree", "reasons": "Insufficient agreement."})
    review = db.session.scalar(select(ExaminationReview))
    from ballistics.core.errors import AppendOnlyViolation

    review.outcome = "agree"
    try:
        db.session.flush()
    except AppendOnlyViolation:
        pass
    else:
        raise AssertionError("an update of a review was accepted")
    finally:
        db.session.rollback()
    from sqlalchemy import text

    try:
        db.session.execute(text("UPDATE examination_reviews SET outcome = 'agree'"))
    except Exception as exc:  # the database trigger refuses plain SQL too
        assert "append-only" in str(exc)
    else:
        raise AssertionError("the trigger did not refuse the UPDATE")
    finally:
        db.session.rollback()


def test_future_start_is_refused_naming_the_field(app, client):
    kit = make_lab()
    version = make_sop(kit)
    db.session.commit()
    api = Api(client, kit, "examiner")
    later = (timeutil.utcnow() + timedelta(days=2)).isoformat()
    body = api.post("/examinations", {"sop_version_id": version.id, "item_ids": [1],
                                      "performed_at": later}, expect=422)
    assert list(body["fields"]) == ["performed_at"]


def test_reviewer_cannot_review_their_own_examination(app, client):
    kit = make_lab()
    version = make_sop(kit)
    today = timeutil.utcnow().date()
    qualify(kit, version, "reviewer", today=today)
    db.session.commit()
    api = Api(client, kit, "reviewer")  # an examiner who also holds the reviewer role
    items = _items_with(api, kit, "reviewer")
    exam = api.post("/examinations", {"sop_version_id": version.id, "item_ids": items})
    for step in version.steps:
        api.post(f"/examinations/{exam['id']}/steps",
                 {"step_id": step.id, "value": 20 if step.is_value_required else None})
    api.post(f"/examinations/{exam['id']}/complete", {"result": "unsuitable"}, expect=200)
    before = _counts()
    body = api.post(f"/examinations/{exam['id']}/technical-review", {"outcome": "agree"},
                    expect=403)
    assert body["error"] == "own_examination" and "someone else" in body["message"]
    assert _counts() == before


def test_default_period_is_twelve_calendar_months():
    from datetime import date

    from sop.services.dashboard import Period

    assert Period.default(date(2026, 11, 25)) == Period(date(2025, 12, 1), date(2026, 11, 25))
    assert Period.default(date(2026, 12, 3)) == Period(date(2026, 1, 1), date(2026, 12, 3))
    assert Period.default(date(2026, 1, 9)) == Period(date(2025, 2, 1), date(2026, 1, 9))


def test_spanish_refusals_name_statuses_and_reviews_in_spanish(app, client):
    """Refusals read in Spanish said 'El examen 3 está completed', 'Su rol no le permite do
    technical reviews' (the stored code and the English phrase put into the sentence)."""
    kit = make_lab()
    _, exam = _completed_exam(kit, client)
    path = f"/api/v1/examinations/{exam['id']}"

    def refused(who: str, action: str, body: dict, status: int) -> str:
        response = client.post(f"{path}/{action}", json=body,
                               headers={**kit.headers(who), "Accept-Language": "es"})
        assert response.status_code == status, response.get_json()
        return response.get_json()["message"]

    before = _counts()
    assert refused("examiner", "complete", {"result": "identification"}, 409) == (
        f"El examen {exam['id']} está finalizado; ya no puede modificarse.")
    message = refused("examiner", "technical-review", {"outcome": "agree"}, 403)
    assert "hacer revisiones técnicas" in message and "do technical" not in message, message
    message = refused("examiner", "administrative-review", {"outcome": "approved"}, 403)
    assert "hacer revisiones administrativas" in message, message
    assert _counts() == before


def test_unknown_ids_are_named_as_the_reader_says_them(app, client):
    """Starting an examination under an SOP version of no lab said 'No pertenece a su
    laboratorio: sop_version_id 999999' (the field's name) beside 'Identificadores
    desconocidos: [999999]'."""
    kit = make_lab()
    api = Api(client, kit, "examiner")
    items = _items_with(api, kit, "examiner")
    before = _counts()
    response = client.post("/api/v1/examinations", json={
        "sop_version_id": 999999, "item_ids": items},
        headers={**kit.headers("examiner"), "Accept-Language": "es"})
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["message"] == "No pertenece a su laboratorio: versión del POE n.º 999999.", body
    assert body["fields"] == {"sop_version_id": ["Identificadores desconocidos: 999999."]}
    assert _counts() == before
