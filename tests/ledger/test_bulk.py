"""The sealer's bulk writes (``ballistics.ledger.bulk``): PostgreSQL's binary COPY and SQLite's
executemany store the same values an ORM insert would (an enum by its value, hashes byte for
byte, times as given), and a refused row leaves nothing of its batch."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ballistics.extensions import db
from ballistics.ledger.bulk import insert_rows
from ballistics.ledger.models import LeafKind, LedgerLeaf, LedgerNode
from tests.support.labs import make_lab


def _leaf(lab_id: int, position: int, kind: LeafKind = LeafKind.AUDIT_ENTRY) -> dict:
    # Every byte value, quotes and backslashes included, in some hash.
    return {"lab_id": lab_id, "position": position, "kind": kind,
            "source_id": lab_id * 1000 + position,  # (kind, source id) is unique across labs
            "leaf_hash": bytes((position * 32 + i) % 256 for i in range(32)),
            "recorded_at": datetime(2026, 3, 31, 23, 30, 15, 123456),
            "sealed_at": datetime(2026, 4, 1, 0, 0, position % 60)}


def test_rows_are_stored_as_an_orm_insert_would_store_them(app):
    lab_id = make_lab().lab.id
    leaves = [_leaf(lab_id, p, LeafKind.CUSTODY_EVENT if p % 3 == 0 else LeafKind.AUDIT_ENTRY)
              for p in range(40)]
    nodes = [{"lab_id": lab_id, "level": 1, "idx": i, "hash": bytes([i]) * 32}
             for i in range(20)]
    conn = db.session.connection()
    insert_rows(conn, LedgerLeaf.__table__, leaves)
    insert_rows(conn, LedgerNode.__table__, nodes)
    insert_rows(conn, LedgerNode.__table__, [])  # nothing to write: no statement
    db.session.commit()

    stored = db.session.execute(select(LedgerLeaf.__table__).where(
        LedgerLeaf.lab_id == lab_id).order_by(LedgerLeaf.position)).mappings().all()
    assert [dict(row) for row in stored] == [{**leaf, "kind": leaf["kind"].value}
                                             for leaf in leaves]
    assert {leaf.kind for leaf in db.session.scalars(
        select(LedgerLeaf).where(LedgerLeaf.lab_id == lab_id))} == set(LeafKind)
    assert db.session.execute(select(LedgerNode.index, LedgerNode.hash).where(
        LedgerNode.lab_id == lab_id).order_by(LedgerNode.index)).all() == [
        (n["idx"], n["hash"]) for n in nodes]


def test_a_refused_row_leaves_nothing_of_its_batch(app):
    lab_id = make_lab().lab.id
    insert_rows(db.session.connection(), LedgerLeaf.__table__, [_leaf(lab_id, 0)])
    db.session.commit()
    # Position 0 is taken: the batch that repeats it is refused whole.
    with pytest.raises(IntegrityError):
        insert_rows(db.session.connection(), LedgerLeaf.__table__,
                    [_leaf(lab_id, 1), _leaf(lab_id, 0) | {"source_id": lab_id * 1000 + 99},
                     _leaf(lab_id, 2)])
        db.session.flush()
    db.session.rollback()
    assert db.session.scalars(select(LedgerLeaf.position).where(
        LedgerLeaf.lab_id == lab_id)).all() == [0]
