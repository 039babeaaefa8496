"""The hub's partner searches rank from the signature index (ballistics/network/hub_index.py):
no shared record's signature is read from the database, the list is the former in-memory
index's, and what a member may see is the hub database's word at the moment of the search (a
record shared with others only, withdrawn, or superseded by a newer version's signature)."""

from __future__ import annotations

import uuid

import numpy as np
from nacl.signing import SigningKey

from ballistics import imaging
from ballistics.core.context import acting_as
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.network import hub, hub_index
from ballistics.network.models import HubSearch
from tests.comparisons.index_refs import random_signatures, statements


def _store(owner: str, record_id: int, signature: np.ndarray, region: str, *,
           shared=("*",), version: int = 1):
    record, stored = hub.store_record(hub.member(owner), {
        "record_id": record_id, "version": version, "features": b"features",
        "reference": f"R{record_id}", "algorithm_version": imaging.ALGORITHM_VERSION,
        "region": region, "calibre": "9mm Luger", "firing_pin_shape": "",
        "breech_face_class": "", "shared_with": list(shared),
        "signature": signature.astype(np.float32).tobytes(), "scanned_at": utcnow()})
    assert stored
    return record


def _rank(search) -> list[tuple[int, float]]:
    with statements() as seen:
        top = hub_index.rank(search)
    reads = [s for s in seen if "hub_records.signature" in s]  # the query's own is fine
    assert reads == [], reads
    exact = hub_index.rank_from_database(search)
    assert [i for i, _ in top] == [i for i, _ in exact]
    assert np.allclose([s for _, s in top], [s for _, s in exact], atol=1e-5)
    return top


def test_partner_search_ranks_from_the_index_as_the_hub_database_allows(hub_app):
    with hub_app.app_context(), acting_as(None, None, "test"):
        a, b, c = ("X" + uuid.uuid4().hex[:6].upper() for _ in range(3))
        for code in (a, b, c):
            hub.add_member(code, f"Lab {code}", bytes(SigningKey.generate().verify_key))
        region = "r" + uuid.uuid4().hex[:8]  # this test's records only
        sigs = random_signatures(300, 7)
        sigs[1:6] = sigs[0] + 0.3 * random_signatures(5, 8)
        sigs[200:205] = sigs[0] + 0.2 * random_signatures(5, 9)  # B's, shared with A only
        records = [_store(a, i, sigs[i], region) for i in range(200)]
        hidden = [_store(b, i, sigs[i], region, shared=(a,)) for i in range(200, 300)]
        # As the task the outbox sends does, once the records are committed.
        assert hub_index.append([r.id for r in records + hidden]) == 300
        db.session.commit()

        search = HubSearch(requester_code=c, request_ref=1,
                           algorithm_version=imaging.ALGORITHM_VERSION, region=region,
                           calibre="9mm Luger", k=20, signature=sigs[0].tobytes(), features=b"")
        db.session.add(search)
        db.session.flush()
        top = _rank(search)
        ids = [i for i, _ in top]
        assert len(top) == 20 and search.n_references == 200
        assert {r.id for r in records[:6]} <= set(ids[:6])
        assert not {r.id for r in hidden} & set(ids)  # shared with A, not with C
        # Stage 2 in chunks of SEARCH_CHUNK_SIZE, one task each (as a lab's search).
        chunks = hub.rank_search(search.id, 7)
        assert [len(chunk) for chunk in chunks] == [7, 7, 6]
        assert [i for chunk in chunks for i, _ in chunk] == ids

        # A newer version with another signature: the old row stays in the files but no
        # longer counts; the record is ranked by its new signature (after its append).
        moved = records[1]
        _store(a, 1, random_signatures(1, 10)[0], region, version=2)
        hub_index.append([moved.id])
        hub.withdraw_record(hub.member(a), 2, 2)
        db.session.commit()
        top = _rank(search)
        assert records[2].id not in {i for i, _ in top}  # withdrawn
        old = dict(_rank(search)).get(moved.id)
        assert old is None or old < 0.9

        # A record whose append has not run yet is read once and appended by the search.
        late = _store(a, 500, sigs[0] + 0.05 * random_signatures(1, 11)[0], region)
        db.session.commit()
        assert late.id in {i for i, _ in hub_index.rank(search)[:8]}
        top = _rank(search)  # now from the files alone
        assert late.id in {i for i, _ in top[:8]}
        db.session.rollback()
