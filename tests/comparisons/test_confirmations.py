"""Confirmations through the API: blind verification withholds the examiner's conclusion until
the verifier records theirs; only an authorised, independent reviewer reviews; a verified
confirmation is not undone by a later review; the settings are the manager's."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.auth import services as accounts
from ballistics.auth.roles import Role
from ballistics.comparisons.models import CaseLink
from ballistics.core import timeutil
from ballistics.core.context import acting_as
from ballistics.extensions import db
from sop.models import ExaminationReview, ReviewerConclusion
from tests.comparisons.confirming import confirm_body, ready_to_confirm
from tests.comparisons.helpers import searched_lab
from tests.evidence.helpers import refused
from tests.sop.scenario import qualify
from tests.support.labs import PASSWORD
from tests.support.web import Api, Browser


def _counts(lab_id: int) -> tuple[int, ...]:
    db.session.expire_all()
    rows = [db.session.scalar(select(func.count()).select_from(m).where(m.lab_id == lab_id))
            for m in (ExaminationReview, ReviewerConclusion, CaseLink)]
    audit = db.session.scalar(select(func.count(AuditEntry.id))
                              .where(AuditEntry.chain_key == lab_id))
    return (*rows, audit)


@pytest.fixture
def lead(client, lab) -> dict:
    searched = searched_lab(client, lab)
    Api(client, lab, "examiner").post(f"/candidates/{searched['candidates'][0]}/decision",
                                      {"decision": "potential_lead"}, expect=200)
    return searched


def test_blind_verification_and_who_may_review(app, client, lab, other_lab, lead):
    lab_id, top = lab.lab.id, lead["candidates"][0]
    examiner, manager = Api(client, lab, "examiner"), Api(client, lab, "manager")
    body = examiner.post(f"/candidates/{top}/confirm", {"conclusion": "identification"},
                         expect=409)
    assert body["error"] == "no_confirmation_sop" and "comparison settings" in body["message"]
    # The settings are the manager's, and name an SOP of the lab.
    examiner.call("PUT", "/comparison-settings", 403, {"confirmation_sop_id": None,
                                                       "is_blind_verification": True})
    body = manager.call("PUT", "/comparison-settings", 422, {"confirmation_sop_id": 10**6,
                                                            "is_blind_verification": True})
    assert list(body["fields"]) == ["confirmation_sop_id"]
    version, microscope = ready_to_confirm(lab, blind=True)
    assert manager.get("/comparison-settings")["is_blind_verification"] is True

    confirmation = examiner.post(f"/candidates/{top}/confirm", confirm_body(version, microscope))
    assert confirmation["status"] == "awaiting_review" and confirmation["is_blind_review"]
    path = f"/examinations/{confirmation['examination_id']}"
    # The examiner sees their conclusion; the verifier (and anyone else) does not, yet.
    assert examiner.get(path)["result"] == "identification"
    reviewer = examiner.as_("reviewer")
    seen = reviewer.get(path)
    assert (seen["result"], seen["result_notes"], seen["is_result_hidden"]) == (None, "", True)
    assert manager.get(path)["result"] is None
    assert [c["status"] for c in reviewer.get("/confirmations")] == ["awaiting_review"]
    body = examiner.post(f"/candidates/{top}/decision", {"decision": "no_association"},
                         expect=409)
    assert body["error"] == "confirmation_open"

    before = _counts(lab_id)
    body = reviewer.post(f"{path}/technical-review", {"outcome": "agree"}, expect=409)
    assert body["error"] == "conclusion_first" and "own conclusion first" in body["message"]
    # A reviewer not authorised for the SOP is refused, however independent.
    with acting_as(None, lab_id, "test"):
        second = accounts.create_user(lab.lab, f"rev2-{lab.lab.code.lower()}", "Reviewer Two",
                                      PASSWORD, [Role.EXAMINER, Role.TECHNICAL_REVIEWER])
        lab.tokens["reviewer2"] = accounts.issue_token(second, "test")
    db.session.commit()
    body = reviewer.as_("reviewer2").post(f"{path}/reviewer-conclusion",
                                          {"result": "identification"}, expect=403)
    assert body["error"] == "reviewer_not_authorised" and "not authorised for FA-09" in \
        body["message"]
    body = examiner.post(f"{path}/reviewer-conclusion", {"result": "identification"},
                         expect=403)
    assert body["error"] == "forbidden"  # the examiner holds no reviewer role
    assert _counts(lab_id)[:3] == before[:3]

    mine = reviewer.post(f"{path}/reviewer-conclusion",
                         {"result": "inconclusive_a", "notes": "Some agreement only."})
    assert mine["result"] == "inconclusive_a"
    seen = reviewer.get(path)
    assert seen["result"] == "identification" and seen["is_result_hidden"] is False
    assert manager.get(path)["result"] is None  # still blind to everyone else
    reviewer.post(f"{path}/reviewer-conclusion", {"result": "identification"}, expect=409)
    reviewer.post(f"{path}/technical-review",
                  {"outcome": "disagree", "reasons": "I found some agreement only."})
    assert _counts(lab_id)[2] == 0
    reviewer.post(f"{path}/technical-review",
                  {"outcome": "agree", "reasons": "Re-examined together; agreement holds."})
    links = examiner.get(f"/cases/{lead['items'][0]['case_id']}/links")
    assert len(links) == 1 and links[0]["examination_id"] == confirmation["examination_id"]
    assert links[0]["reviewed_by_id"] == lab.id("reviewer") and links[0]["is_active"]
    # Verified: the conclusion is no longer withheld, and both reviews and the verifier's own
    # conclusion stay on record.
    seen = manager.get(path)
    assert seen["result"] == "identification"
    assert [r["outcome"] for r in seen["reviews"]] == ["disagree", "agree"]
    assert [c["result"] for c in seen["reviewer_conclusions"]] == ["inconclusive_a"]
    # A later review does not undo a verified confirmation: that takes a correction.
    before = _counts(lab_id)
    body = reviewer.post(f"{path}/technical-review",
                         {"outcome": "disagree", "reasons": "Second thoughts."}, expect=409)
    assert body["error"] == "already_verified" and "correction" in body["message"]
    assert _counts(lab_id) == before
    assert examiner.get(f"/confirmations/{confirmation['id']}")["status"] == "verified"
    # Another lab sees none of it.
    outsider = Api(client, other_lab, "reviewer")
    assert outsider.get("/confirmations") == []
    outsider.get(f"/confirmations/{confirmation['id']}", expect=404)
    outsider.post(f"{path}/reviewer-conclusion", {"result": "elimination"}, expect=404)
    outsider.post(f"/case-links/{links[0]['id']}/corrections", {"reason": "x"}, expect=404)
    assert Browser(app, other_lab, "reviewer").get(
        f"/verifications/{confirmation['id']}", expect=404)


def test_a_standing_link_keeps_its_items_after_release_until_an_independent_review(
        app, client, lab, lead):
    """The issue's own case: the examination is released, so only the confirmed link holds the
    items. Destruction in hand and an override are refused naming the link, writing nothing;
    the person who asked for the withdrawal does not decide it; once an independent reviewer
    agrees, the holder may destroy the item."""
    lab_id, top = lab.lab.id, lead["candidates"][0]
    version, microscope = ready_to_confirm(lab)
    examiner = Api(client, lab, "examiner")
    reviewer, manager, tech = (examiner.as_(who) for who in ("reviewer", "manager", "tech"))
    confirmation = examiner.post(f"/candidates/{top}/confirm", confirm_body(version, microscope))
    path = f"/examinations/{confirmation['examination_id']}"
    reviewer.post(f"{path}/technical-review", {"outcome": "agree", "reasons": "Marks persist."})
    manager.post(f"{path}/administrative-review", {"outcome": "approved"})
    assert examiner.post(f"{path}/release", expect=200)["status"] == "released"
    [link] = examiner.get(f"/cases/{lead['items'][0]['case_id']}/links")
    assert link["is_active"]

    item = f"/items/{lead['items'][1]['id']}"  # still with the technician who received it
    words = "grounds the identification linking cases"
    body = refused(tech, f"{item}/destroy", {"witness_id": lab.id("examiner"),
                                             "reason": "cleanup"},
                   409, "item_under_case_link", words, lab_id)
    assert f"(case link {link['id']})" in body["message"] and "open examination" not in \
        body["message"]
    refused(manager, f"{item}/disposal-requests", {
        "action": "destroy", "override_reason": "holder_left", "reason": "cleanup",
        "witness_id": lab.id("examiner")}, 409, "item_under_case_link", words, lab_id)

    # Whoever asks for the withdrawal does not decide it, nor does the examiner.
    correction = reviewer.post(f"/case-links/{link['id']}/corrections",
                               {"reason": "Item 2 was mislabelled at intake."})
    review = f"/link-corrections/{correction['id']}/review"
    refused(reviewer, review, {"outcome": "agree", "reasons": "As I said."}, 403,
            "not_independent", "an independent reviewer decides it", lab_id)
    refused(examiner, review, {"outcome": "agree", "reasons": "Fine by me."}, 403,
            "forbidden", "", lab_id)
    assert examiner.get(f"/cases/{lead['items'][0]['case_id']}/links")[0]["is_active"]
    tech.post(f"{item}/destroy", {"witness_id": lab.id("examiner"), "reason": "cleanup"},
              expect=409)

    # A second reviewer, authorised for the SOP, agrees: the link is withdrawn, the item free.
    with acting_as(None, lab_id, "test"):
        second = accounts.create_user(lab.lab, f"rev2-{lab.lab.code.lower()}", "Reviewer Two",
                                      PASSWORD, [Role.EXAMINER, Role.TECHNICAL_REVIEWER])
        lab.users["reviewer2"] = second
        lab.tokens["reviewer2"] = accounts.issue_token(second, "test")
    qualify(lab, version, "reviewer2", today=timeutil.utcnow().date())
    db.session.commit()
    decided = reviewer.as_("reviewer2").post(review, {"outcome": "agree",
                                                      "reasons": "Intake photos confirm."},
                                             expect=200)
    assert (decided["status"], decided["reviewed_by_id"]) == ("accepted", second.id)
    [link] = examiner.get(f"/cases/{lead['items'][0]['case_id']}/links")
    assert not link["is_active"] and [c["status"] for c in link["corrections"]] == ["accepted"]
    event = tech.post(f"{item}/destroy", {"witness_id": lab.id("examiner"),
                                          "reason": "court order 12/26"})
    assert event["kind"] == "destroyed"
