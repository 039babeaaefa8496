"""Sealing: every custody event and audit entry of a lab gets exactly one position, gap-free, in
order of commit discovery; the stored tree is RFC 9162's tree of the recomputed leaves; rows
of a transaction still in flight are sealed once it commits; a row altered before it was sealed
is refused, not sealed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ballistics.audit.models import AuditEntry
from ballistics.audit.services import append, verify_audit_chain
from ballistics.core.context import acting_as
from ballistics.evidence.models import CustodyEvent
from ballistics.extensions import db
from ballistics.ledger import merkle
from ballistics.ledger.leaves import SOURCES, leaf_hash
from ballistics.ledger.models import LeafKind, LedgerLeaf, LedgerLog
from ballistics.ledger.sealer import seal_all, seal_lab
from ballistics.ledger.store import StoredTree
from ballistics.ledger.verify import verify_lab
from tests.evidence.helpers import tamper_reason
from tests.support.labs import make_lab
from tests.support.web import Api


def _leaves(lab_id: int) -> list[LedgerLeaf]:
    db.session.expire_all()
    return db.session.scalars(select(LedgerLeaf).where(LedgerLeaf.lab_id == lab_id)
                              .order_by(LedgerLeaf.position)).all()


def _sources(lab_id: int) -> set[tuple[LeafKind, int]]:
    events = db.session.scalars(select(CustodyEvent.id).where(CustodyEvent.lab_id == lab_id))
    entries = db.session.scalars(select(AuditEntry.id).where(AuditEntry.chain_key == lab_id))
    return ({(LeafKind.CUSTODY_EVENT, i) for i in events}
            | {(LeafKind.AUDIT_ENTRY, i) for i in entries})


def _recomputed(leaf: LedgerLeaf) -> bytes:
    source = SOURCES[leaf.kind]
    row = db.session.execute(select(source.table).where(source.id == leaf.source_id)).one()
    return leaf_hash(leaf.kind.value, leaf.lab_id, leaf.source_id,
                     source.recomputed_hash(row._mapping))


def test_every_row_of_the_lab_gets_one_position_and_the_tree_is_rfc9162s(app, client, lab,
                                                                         other_lab):
    api = Api(client, lab, "tech")
    case = api.new_case()
    items = [api.receive(case["id"]) for _ in range(3)]
    api.post(f"/items/{items[0]['id']}/transfer", {"to_user_id": lab.id("examiner")})
    Api(client, other_lab, "tech").receive(Api(client, other_lab, "tech").new_case()["id"])

    result = seal_all(lab.lab.id)
    leaves = _leaves(lab.lab.id)
    assert result.sealed == len(leaves) == result.size > 10
    assert [leaf.position for leaf in leaves] == list(range(len(leaves)))
    # Exactly this lab's custody events and audit entries, each once; none of the other lab's.
    assert {(leaf.kind, leaf.source_id) for leaf in leaves} == _sources(lab.lab.id)
    assert len({(leaf.kind, leaf.source_id) for leaf in leaves}) == len(leaves)
    # Each stored leaf is the leaf its row gives, and the stored tree is RFC 9162's.
    recomputed = [_recomputed(leaf) for leaf in leaves]
    assert recomputed == [leaf.leaf_hash for leaf in leaves]
    tree = StoredTree(db.session, lab.lab.id, len(leaves))
    root = merkle.root_from_leaf_hashes(recomputed)
    log = db.session.get(LedgerLog, lab.lab.id)
    assert tree.root() == root == merkle.CompactRange(
        log.size, [bytes.fromhex(h) for h in log.edge]).root()
    for position, leaf in enumerate(recomputed):
        merkle.verify_inclusion(leaf, position, len(leaves),
                                tree.inclusion_proof(position, len(leaves)), root)

    # Nothing new, nothing sealed; the next write goes after, and the log only grew.
    old_size = len(leaves)
    assert seal_lab(lab.lab.id).sealed == 0
    api.post(f"/items/{items[1]['id']}/transfer", {"to_user_id": lab.id("examiner")})
    grown = seal_all(lab.lab.id)
    assert grown.sealed >= 2 and grown.size == old_size + grown.sealed
    new = StoredTree(db.session, lab.lab.id, grown.size)
    merkle.verify_consistency(old_size, grown.size, new.consistency_proof(old_size, grown.size),
                              root, new.root())
    assert {(leaf.kind, leaf.source_id) for leaf in _leaves(lab.lab.id)} == _sources(lab.lab.id)
    verified = verify_lab(lab.lab.id, ask_witnesses=False)
    assert verified.ok and verified.size == grown.size and verified.unsealed == 0, verified
    assert verified.last_consistent is None  # no witness: the summary must say so
    assert "no witnessed checkpoint" in verified.summary()


def test_a_row_altered_before_it_was_sealed_is_refused_not_sealed(app, client, lab):
    api = Api(client, lab, "tech")
    item = api.receive(api.new_case()["id"])
    event_id = api.get(f"/items/{item['id']}/custody")[0]["id"]
    tamper_reason(event_id)
    result = seal_all(lab.lab.id)
    assert result.refused and f"custody event {event_id} does not match" in result.refused[0]
    sealed = {(leaf.kind, leaf.source_id) for leaf in _leaves(lab.lab.id)}
    assert (LeafKind.CUSTODY_EVENT, event_id) not in sealed
    assert sealed == _sources(lab.lab.id) - {(LeafKind.CUSTODY_EVENT, event_id)}
    verified = verify_lab(lab.lab.id, ask_witnesses=False)
    assert not verified.ok and verified.unsealed == 1
    assert any(f"custody event {event_id} does not match" in p for p in verified.problems)


@pytest.mark.postgres
def test_a_transaction_in_flight_is_sealed_when_it_commits(pg_app, monkeypatch):
    """Ids are taken in one order and committed in another: the sealer keeps the missing id as
    a hole and seals the row once it is there; after the hole expires, the sweep finds it."""
    with pg_app.app_context():
        kit = make_lab()
        lab_id = kit.lab.id
        seal_all(lab_id)

        def entry(session: Session, what: str) -> int:
            with acting_as(kit.id("tech"), lab_id, "test"):
                append(session, lab_id, [{"action": "read", "object_type": "items",
                                          "object_id": what, "before": None,
                                          "after": {"view": what}}])
            return session.scalar(select(AuditEntry.id).where(AuditEntry.object_id == what))

        slow = Session(db.engine)
        slow_id = entry(slow, "slow")  # id taken, not committed
        with Session(db.engine) as fast:
            fast_id = entry(fast, "fast")
            fast.commit()
        assert fast_id > slow_id
        seal_all(lab_id)
        sealed = {leaf.source_id for leaf in _leaves(lab_id) if leaf.kind == "audit_entry"}
        assert fast_id in sealed and slow_id not in sealed
        holes = db.session.get(LedgerLog, lab_id).scan["audit_entry"]["holes"]
        assert any(lo <= slow_id <= hi for lo, hi, _ in holes)
        slow.commit()
        slow.close()
        seal_all(lab_id)
        positions = {leaf.source_id: leaf.position for leaf in _leaves(lab_id)
                     if leaf.kind == "audit_entry"}
        assert positions[slow_id] > positions[fast_id]  # sealed later, appended after
        assert not db.session.get(LedgerLog, lab_id).scan["audit_entry"]["holes"]

        # A transaction slower than LEDGER_HOLE_SECONDS: its hole is dropped as a rollback,
        # and the sweep still seals the row.
        monkeypatch.setitem(pg_app.config, "LEDGER_HOLE_SECONDS", 0)
        slower = Session(db.engine)
        late_id = entry(slower, "late")
        with Session(db.engine) as fast:
            entry(fast, "fast again")
            fast.commit()
        seal_all(lab_id)
        slower.commit()
        slower.close()
        seal_all(lab_id)
        assert late_id not in {leaf.source_id for leaf in _leaves(lab_id)}
        monkeypatch.setitem(pg_app.config, "LEDGER_SWEEP_SECONDS", 0)
        seal_all(lab_id)
        assert (LeafKind.AUDIT_ENTRY, late_id) in {(leaf.kind, leaf.source_id)
                                                   for leaf in _leaves(lab_id)}
        leaves = _leaves(lab_id)
        assert [leaf.position for leaf in leaves] == list(range(len(leaves)))
        assert verify_lab(lab_id, ask_witnesses=False).ok
        assert verify_audit_chain(db.session, lab_id).ok
        db.session.remove()


def test_a_cursor_put_back_does_not_seal_twice(app, client, lab):
    api = Api(client, lab, "tech")
    api.receive(api.new_case()["id"])
    first = seal_all(lab.lab.id)
    db.session.execute(LedgerLog.__table__.update().where(LedgerLog.lab_id == lab.lab.id)
                       .values(scan={}))
    db.session.commit()
    again = seal_all(lab.lab.id)
    assert again.sealed == 0 and again.size == first.size
    assert verify_lab(lab.lab.id, ask_witnesses=False).ok
