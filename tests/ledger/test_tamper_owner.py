"""Acceptance (issue 10), tamper owner edition: someone with the database owner's rights alters a
custody event and recomputes every later hash, the item's chain head, the leaves and the tree
nodes. The item's own chain then verifies -- but the log contradicts the checkpoint the witness
cosigned, verification fails and names where, the lab key refuses to sign the rewrite, the
witness refuses to cosign it, and the court report says so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import Item
from ballistics.extensions import db
from ballistics.ledger import checkpointing
from ballistics.ledger.models import LeafKind, LedgerLeaf, LedgerLog
from ballistics.ledger.sealer import seal_all
from ballistics.ledger.verify import describe, verify_lab
from tests.ledger.support import rewrite_as_owner
from tests.support.web import Api, Browser


def _checkpoint(lab_id: int) -> int:
    seal_all(lab_id)
    info = checkpointing.make_checkpoint(lab_id)
    assert all(o.ok for o in checkpointing.witness(lab_id, info))
    return info.size


def _history(client, lab):
    """Two witnessed checkpoints; the pistol's hand-over is sealed between them."""
    api = Api(client, lab, "tech")
    case = api.new_case()
    pistol = api.receive(case["id"], kind="firearm")
    other = api.receive(case["id"])
    s1 = _checkpoint(lab.lab.id)
    api.post(f"/items/{pistol['id']}/transfer", {"to_user_id": lab.id("examiner")})
    api.post(f"/items/{other['id']}/transfer", {"to_user_id": lab.id("examiner")})
    s2 = _checkpoint(lab.lab.id)
    handover = api.get(f"/items/{pistol['id']}/custody")[1]
    position = db.session.scalar(select(LedgerLeaf.position).where(
        LedgerLeaf.kind == LeafKind.CUSTODY_EVENT, LedgerLeaf.source_id == handover["id"]))
    assert s1 <= position < s2
    return pistol, handover, s1, s2


def test_owner_rewrite_contradicts_the_witnessed_checkpoint_and_is_named(app, client, lab,
                                                                        witness):
    witness.trust(lab.lab.id)
    pistol, handover, s1, s2 = _history(client, lab)

    rewrite_as_owner(handover["id"], "returned to the police the same day")
    item = db.session.get(Item, pistol["id"])
    assert verify_chain(db.session, item).ok  # the database agrees with itself again

    result = verify_lab(lab.lab.id)
    assert not result.ok
    assert result.last_consistent == s1 and result.first_bad_position == s1
    first_after = db.session.get(LedgerLeaf, (lab.lab.id, s1))
    assert result.first_bad_entry == describe(db.session, first_after.kind,
                                              first_after.source_id)
    assert any(f"entries {s1} to {s2 - 1} contradict the checkpoint of size {s2} witnessed by "
               "witness.test/w1" in p for p in result.problems), result.problems
    assert f"first entry that cannot be relied upon: position {s1}" in result.summary()

    # The lab goes on working; the lab key refuses to sign the rewritten tree, and the log
    # keeps the alarm.
    Api(client, lab, "tech").receive(pistol["case_id"])
    seal_all(lab.lab.id)
    with pytest.raises(checkpointing.LogMismatch, match=f"size {s2} does not match"):
        checkpointing.make_checkpoint(lab.lab.id)
    db.session.expire_all()
    assert "rewritten" in db.session.get(LedgerLog, lab.lab.id).alarm

    # The court report: the chain alone looks fine, the witnessed log says otherwise.
    page = Browser(app, lab, "tech").get(f"/items/{pistol['id']}/report")
    assert 'data-ledger="broken"' in page and "CONTRADICTS the witnessed log" in page
    assert "No event has been altered" not in page
    assert "is not in the checkpoint" in page


def test_deleting_the_labs_checkpoints_does_not_hide_the_rewrite(app, client, lab, witness):
    witness.trust(lab.lab.id)
    _pistol, handover, _s1, s2 = _history(client, lab)
    rewrite_as_owner(handover["id"], "returned to the police the same day",
                     checkpoints_too=True)
    assert checkpointing.latest(db.session, lab.lab.id) is None

    # The witness still holds checkpoint s2, and verification asks it.
    result = verify_lab(lab.lab.id)
    assert not result.ok and result.first_bad_position == 0
    assert any(f"contradict the checkpoint of size {s2} witnessed by witness.test/w1" in p
               and "asked now" in p for p in result.problems), result.problems

    # Nothing in the database contradicts the rewrite now, so the lab key signs it; the
    # witness refuses to cosign it (not an extension of what it cosigned) and that is an alarm.
    forged = checkpointing.make_checkpoint(lab.lab.id)
    [outcome] = checkpointing.witness(lab.lab.id, forged, force=True)
    assert not outcome.ok and outcome.alarm and "not an extension" in outcome.message
    assert witness.service.refusals(db.session.get(LedgerLog, lab.lab.id).origin)
    after = verify_lab(lab.lab.id)
    assert not after.ok and any("witness alarm" in p for p in after.problems)
