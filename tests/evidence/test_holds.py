"""What holds an item, asked for many items at once (a page offering the items that can be
sent): the same answer as item by item, in every hold state, since the per-item answer is
the bulk one for one item; and a fixed number of queries whatever the count."""

from __future__ import annotations

from sqlalchemy import select

from ballistics.auth import services as accounts
from ballistics.auth.roles import Role
from ballistics.core import timeutil
from ballistics.core.context import acting_as
from ballistics.evidence import holds
from ballistics.evidence.holds import HoldKind
from ballistics.evidence.models import Item
from ballistics.extensions import db
from tests.comparisons.confirming import confirm_body, ready_to_confirm
from tests.comparisons.helpers import searched_lab
from tests.comparisons.index_refs import statements
from tests.sop.scenario import qualify
from tests.support.labs import PASSWORD
from tests.support.web import Api

EXAM, LINK = HoldKind.EXAMINATION, HoldKind.CASE_LINK


def _same_answer(ids: dict[str, int], expected: dict[str, list[HoldKind]]) -> None:
    """The bulk answer for every item equals the per-item answers, has the expected kinds of
    hold, and took at most three queries (open examinations, standing links, their cases)."""
    items = db.session.scalars(select(Item).where(Item.id.in_(ids.values()))).all()
    with statements() as seen:
        bulk = holds.holds_on_many(items)
    assert len(seen) <= 3, seen
    assert bulk == {item.id: holds.holds_on(item) for item in items}
    assert {name: sorted(h.kind for h in bulk[item_id]) for name, item_id in ids.items()} \
        == {name: sorted(kinds) for name, kinds in expected.items()}
    assert holds.holds_on_many([]) == {}


def test_many_items_at_once_get_the_answer_each_gets_alone(app, client, lab):
    lab_id = lab.lab.id
    searched = searched_lab(client, lab)
    examiner = Api(client, lab, "examiner")
    reviewer, manager = examiner.as_("reviewer"), examiner.as_("manager")
    top = searched["candidates"][0]
    examiner.post(f"/candidates/{top}/decision", {"decision": "potential_lead"}, expect=200)
    version, microscope = ready_to_confirm(lab)
    # A confirmed identification: its examination released, the link standing.
    confirmation = examiner.post(f"/candidates/{top}/confirm",
                                 confirm_body(version, microscope))
    path = f"/examinations/{confirmation['examination_id']}"
    reviewer.post(f"{path}/technical-review", {"outcome": "agree", "reasons": "Marks persist."})
    manager.post(f"{path}/administrative-review", {"outcome": "approved"})
    assert examiner.post(f"{path}/release", expect=200)["status"] == "released"
    [link] = examiner.get(f"/cases/{searched['items'][0]['case_id']}/links")
    # the query's item and its mate's ground the identification; the third is another gun's
    query, mate, unlinked = (i["id"] for i in searched["items"])
    case = examiner.new_case()["id"]
    ids = {"free": examiner.receive(case)["id"], "one_exam": examiner.receive(case)["id"],
           "two_exams": examiner.receive(case)["id"], "unlinked": unlinked, "linked": mate,
           "linked_and_examined": query}
    for item_ids in ([ids["one_exam"], ids["two_exams"]],
                     [ids["two_exams"], ids["linked_and_examined"]]):
        examiner.post("/examinations", {"sop_version_id": version.id, "item_ids": item_ids})
    _same_answer(ids, {"free": [], "one_exam": [EXAM], "two_exams": [EXAM, EXAM],
                       "unlinked": [], "linked": [LINK],
                       "linked_and_examined": [LINK, EXAM]})

    # The link withdrawn by a reviewed correction holds nothing any more.
    correction = reviewer.post(f"/case-links/{link['id']}/corrections",
                               {"reason": "Item 2 was mislabelled at intake."})
    with acting_as(None, lab_id, "test"):
        lab.users["reviewer2"] = accounts.create_user(
            lab.lab, f"rev2-{lab.lab.code.lower()}", "Reviewer Two", PASSWORD,
            [Role.EXAMINER, Role.TECHNICAL_REVIEWER])
        lab.tokens["reviewer2"] = accounts.issue_token(lab.users["reviewer2"], "test")
    qualify(lab, version, "reviewer2", today=timeutil.utcnow().date())
    db.session.commit()
    reviewer.as_("reviewer2").post(f"/link-corrections/{correction['id']}/review",
                                   {"outcome": "agree", "reasons": "Intake photos confirm."},
                                   expect=200)
    _same_answer(ids, {"free": [], "one_exam": [EXAM], "two_exams": [EXAM, EXAM],
                       "unlinked": [], "linked": [], "linked_and_examined": [EXAM]})
