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


def _members(n: int) -> list[str]:
    codes = ["X" + uuid.uuid4().hex[:6].upper() for _ in range(n)]
    for code in codes:
        hub.add_member(code, f"Lab {code}", bytes(SigningKey.generate().verify_key))
    return codes


def _search(requester: str, region: str, signature: np.ndarray, k: int = 20,
            features: bytes = b"") -> HubSearch:
    search = HubSearch(requester_code=requester, request_ref=int(uuid.uuid4().int % 10**9),
                       algorithm_version=imaging.ALGORITHM_VERSION, region=region,
                       calibre="9mm Luger", k=k, signature=signature.tobytes(),
                       features=features)
    db.session.add(search)
    db.session.flush()
    return search


def test_sharded_stage_1_gives_the_list_of_one_scan(hub_app):
    with hub_app.app_context(), acting_as(None, None, "test"):
        a, b, c = _members(3)
        region = "r" + uuid.uuid4().hex[:8]
        sigs = random_signatures(400, 21)
        sigs[1:8] = sigs[0] + 0.3 * random_signatures(7, 22)
        records = [_store(a, i, sigs[i], region) for i in range(250)]
        hidden = [_store(b, i, sigs[i], region, shared=(a,)) for i in range(250, 400)]
        # Several segments, so shard ranges cut across them; 30 records never appended (the
        # shard holding each reads it once and appends it).
        appended = records[:100] + records[130:] + hidden
        for i in range(0, len(appended), 90):
            hub_index.append([r.id for r in appended[i:i + 90]])
        db.session.commit()

        search = _search(c, region, sigs[0])
        ranges = hub_index.shard_ranges(search, 40)
        assert len(ranges) > 5
        hub.claim_search(search.id)
        shards = [hub.shard_shortlist(search.id, lo, hi) for lo, hi in ranges]
        healed = {hub_index.record_of(i) for s in hub_index.signature_index.segments(
            None, hub_index.NAMESPACE) for i in s.ids.tolist()}
        assert {r.id for r in records[100:130]} <= healed
        whole = _rank(search)  # one scan of every row (none read: the shards healed them)
        assert sum(s["n"] for s in shards) == 250  # hidden ones are B's, shared with A only
        assert sum(1 for s in shards if s["n"]) > 3
        chunks = hub.to_chunks(search, shards, 7)
        assert [i for chunk in chunks for i, _ in chunk] == [i for i, _ in whole]
        assert np.allclose([s for chunk in chunks for _, s in chunk], [s for _, s in whole])
        assert [len(chunk) for chunk in chunks] == [7, 7, 6] and search.n_references == 250
        assert {r.id for r in records[:8]} <= {i for i, _ in whole[:8]}
        db.session.rollback()


def test_network_reindex_rebuilds_the_hubs_index_from_the_shared_records(hub_app, pg_app):
    with hub_app.app_context(), acting_as(None, None, "test"):
        a, c = _members(2)
        region = "r" + uuid.uuid4().hex[:8]
        sigs = random_signatures(120, 31)
        records = [_store(a, i, sigs[i], region) for i in range(120)]  # no append ran
        withdrawn = records[5]
        hub.withdraw_record(hub.member(a), 5, 2)
        db.session.commit()
        result = hub_app.test_cli_runner().invoke(args=["network", "reindex"])
        assert result.exit_code == 0, result.output
        rows = int(result.output.split()[0])
        assert rows == hub_index.count() == hub_index.database_count() >= 119
        indexed = {hub_index.record_of(i) for s in hub_index.signature_index.segments(
            None, hub_index.NAMESPACE) for i in s.ids.tolist()}
        assert {r.id for r in records} - indexed == {withdrawn.id}
        status = hub_app.test_cli_runner().invoke(args=["network", "index-status"])
        assert f"{rows} row(s)" in status.output and f"{rows} current" in status.output
        # Every search now ranks from the files alone (_rank: no signature read).
        top = _rank(_search(c, region, sigs[0]))
        assert top[0][0] == records[0].id and withdrawn.id not in {i for i, _ in top}
        db.session.rollback()
    # A lab node has no hub index to rebuild.
    refused = pg_app.test_cli_runner().invoke(args=["network", "reindex"])
    assert refused.exit_code != 0 and "APP_ROLE=hub" in refused.output


def test_stage_2_reads_and_decodes_the_query_once_per_process_and_search(hub_app):
    from ballistics.imaging import synthetic

    pool = [imaging.extract_features(synthetic.fire(synthetic.make_firearm(g), s))
            for g, s in [(0, 0), (0, 1), (1, 0)]]
    with hub_app.app_context(), acting_as(None, None, "test"):
        a, c = _members(2)
        region = "breech_face"
        refs = []
        for i, feats in enumerate(pool[1:]):
            record, _ = hub.store_record(hub.member(a), {
                "record_id": i, "version": 1, "features": imaging.features_to_bytes(feats),
                "reference": f"R{i}", "algorithm_version": imaging.ALGORITHM_VERSION,
                "region": region, "calibre": "9mm Luger", "firing_pin_shape": "",
                "breech_face_class": "", "shared_with": ["*"],
                "signature": feats.signature.tobytes(), "scanned_at": utcnow()})
            refs.append(record.id)
        query = imaging.features_to_bytes(pool[0])
        searches_ = [_search(c, region, pool[0].signature, features=query) for _ in range(2)]
        db.session.commit()

        def chunk(search, record_id):
            db.session.expire_all()
            with statements() as seen:
                found = hub.compare_chunk(search.id, [(record_id, 0.5)])
            return found, [s for s in seen if "hub_searches.features" in s]

        first, reads = chunk(searches_[0], refs[0])
        assert len(reads) == 1  # the first chunk of a search in this process reads it
        second, reads = chunk(searches_[0], refs[1])
        assert reads == []  # the next chunk of the same search does not
        again, reads = chunk(searches_[1], refs[0])
        assert len(reads) == 1  # another search reads its own query
        # The same comparison whether the query was read or kept.
        assert again[0]["score"] == first[0]["score"]
        assert first[0]["score"] > second[0]["score"]  # the mate scores above the stranger
        db.session.rollback()


def test_a_partner_search_leaves_out_the_requesters_own_records(hub_app):
    """What partners share, not what the requester shares: its scan would otherwise come back
    as its own first candidate (found driving the networked demo)."""
    with hub_app.app_context(), acting_as(None, None, "test"):
        mine, theirs, stranger = _members(3)
        region = "r" + uuid.uuid4().hex[:8]
        sigs = random_signatures(4, 41)
        own = _store(mine, 1, sigs[0], region)  # the very scan searched, shared with all
        shared = _store(theirs, 1, sigs[0] + 0.1 * sigs[1], region)
        narrow = _store(stranger, 1, sigs[2], region, shared=(mine,))
        _store(stranger, 2, sigs[3], region, shared=(theirs,))  # not shared with the requester
        db.session.commit()
        search = _search(mine, region, sigs[0])
        assert set(hub_index.admissible(mine, search).values()) == {shared.id, narrow.id}
        ranked = [i for i, _ in hub_index.rank(search)]
        assert own.id not in ranked and ranked[0] == shared.id
        db.session.rollback()
