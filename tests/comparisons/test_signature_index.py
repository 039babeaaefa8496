"""The persistent signature index, in-process: stage 1 reads no signature from the database and
ranks exactly as the former scan of database rows; the database's admissibility counts at once
(a closed case, another lab) although the rows stay in the shared files; missing rows are
restored from the database and a damaged segment is set aside, never read."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import update

from ballistics.comparisons import searches, signature_index
from ballistics.comparisons.models import Scan, Search
from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.imaging.segments import HEADER_BYTES
from tests.comparisons.index_refs import add_references, random_signatures, statements


def _search(kit, query_id: int, k: int = 20) -> Search:
    with acting_as(kit.id("examiner"), kit.lab.id, "test"):
        search = searches.start_search(kit.users["examiner"], db.session.get(Scan, query_id), k=k)
        db.session.flush()
    return search


def _reads_signatures(seen: list[str]) -> list[str]:
    return [s for s in seen if "feature_sets.signature" in s or "signature FROM" in s]


def _refs(kit, n=1500, seed=0):
    sigs = random_signatures(n, seed)
    # The query's near copies, so the top of the list is not noise.
    sigs[1:6] = sigs[0] + 0.3 * random_signatures(5, seed + 1)
    calibres = ["9mm Luger" if i % 7 else (".45 ACP" if i % 2 else "") for i in range(n)]
    return add_references(kit, sigs, calibres=calibres,
                          open_case=[i % 11 != 3 for i in range(n)])


def test_search_reads_no_signature_and_ranks_as_the_exact_scan(app, lab):
    ids = _refs(lab)
    signature_index.append(ids)  # as the feature tasks do
    search = _search(lab, ids[0])
    with statements() as seen:
        top = searches.rank(search)
    assert _reads_signatures(seen) == [], _reads_signatures(seen)
    assert any("scans.id" in s for s in seen)  # admissibility did ask the database
    exact = searches.rank_from_database(search)
    assert [i for i, _ in top] == [i for i, _ in exact] and len(top) == 20
    assert np.allclose([s for _, s in top], [s for _, s in exact], atol=1e-5)
    assert {ids[1], ids[2], ids[4], ids[5]} <= {i for i, _ in top[:5]}
    assert ids[3] not in {i for i, _ in top}  # a closed case (uploaded with open_case false)
    assert search.n_references == len(searches.admissible_ids(
        search, db.session.get(Scan, ids[0])))
    # Sharded: the same list, from shards' shortlists merged.
    shards = signature_index.shard_ranges(search.algorithm_version, 300)
    assert len(shards) > 3
    parts = [r for lo, hi in shards for r in searches.shortlist(search, lo, hi)]
    searches.start(search)
    chunks = searches.to_chunks(search, parts, 7)
    assert [i for chunk in chunks for i, _ in chunk] == [i for i, _ in exact]
    assert [len(chunk) for chunk in chunks] == [7, 7, 6]  # SEARCH_CHUNK_SIZE pairs a task
    db.session.rollback()


def test_closed_case_and_another_lab_are_never_returned(app, lab, other_lab):
    ids_a = _refs(lab, 400, seed=10)
    # Lab B holds near copies of lab A's query: the same files, another lab.
    sigs_b = random_signatures(400, 20)
    sigs_b[:50] = np.frombuffer(
        db.session.get(Scan, ids_a[0]) and _signature(ids_a[0]), np.float32)
    ids_b = add_references(other_lab, sigs_b)
    signature_index.append(ids_a + ids_b)
    search_a = _search(lab, ids_a[0])
    top_a = {i for i, _ in searches.rank(search_a)}
    assert top_a and top_a <= set(ids_a)
    search_b = _search(other_lab, ids_b[0], k=100)
    top_b = {i for i, _ in searches.rank(search_b)}
    assert len(top_b) == 100 and top_b <= set(ids_b)
    # A case closes: its scan leaves the admissible set at once, its row stays in the files.
    closed = ids_a[1]
    assert closed in top_a
    db.session.execute(update(Scan).where(Scan.id == closed).values(is_open_case=False))
    db.session.flush()
    with statements() as seen:
        again = {i for i, _ in searches.rank(_search(lab, ids_a[0]))}
    assert closed not in again and _reads_signatures(seen) == []
    assert closed in np.concatenate([s.ids for s in signature_index.segments()])
    db.session.rollback()


def _signature(scan_id: int) -> bytes:
    from ballistics.comparisons.models import FeatureSet

    scan = db.session.get(Scan, scan_id)
    return db.session.scalar(db.select(FeatureSet.signature).where(
        FeatureSet.sha256 == scan.sha256))


def test_a_reference_not_yet_indexed_is_found_and_appended(app, lab):
    ids = _refs(lab, 300, seed=30)
    signature_index.append(ids)
    late = add_references(lab, np.frombuffer(_signature(ids[0]), np.float32)[None, :] * 1.0)
    indexed = lambda: np.concatenate([s.ids for s in signature_index.segments()])  # noqa: E731
    assert late[0] not in indexed()
    search = _search(lab, ids[0])
    top = [i for i, _ in searches.rank(search)]
    assert late[0] in top[:6]  # the query's twin: found although its append never ran
    assert late[0] in indexed()
    with statements() as seen:
        assert [i for i, _ in searches.rank(_search(lab, ids[0]))] == top
    assert _reads_signatures(seen) == []  # appended by the first search
    db.session.rollback()


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_segment_is_set_aside_and_its_rows_restored(app, lab, damage):
    ids = _refs(lab, 300, seed=40)
    signature_index.append(ids)
    search = _search(lab, ids[0])
    exact = searches.rank_from_database(search)
    path = next(s.path for s in signature_index.segments() if ids[0] in s.ids)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[:len(data) // 2]
    else:
        data[HEADER_BYTES + 8 * 20] ^= 0x01  # one bit of an id
    # Rewritten under a new name: the process maps files it has not seen before afresh.
    path.unlink()
    (path.parent / ("z" + path.name)).write_bytes(bytes(data))
    assert [i for i, _ in searches.rank(_search(lab, ids[0]))] == [i for i, _ in exact]
    assert (path.parent / ("z" + path.with_suffix(".damaged").name)).exists()
    db.session.rollback()


def test_rebuild_recreates_the_index_from_the_database(app, lab, other_lab):
    ids = _refs(lab, 200, seed=50)
    others = _refs(other_lab, 150, seed=51)  # ids interleaved with lab's by a second batch
    more = _refs(lab, 100, seed=52)
    signature_index.append(ids[:50])
    rows = signature_index.rebuild()
    assert rows == signature_index.database_count() == signature_index.count()
    found = signature_index.segments()
    assert set(ids + others + more) <= set(np.concatenate([s.ids for s in found]).tolist())
    # One lab's rows per segment: a search scans its lab's as contiguous slices.
    assert all(len(s.lab_set) == 1 for s in found)
    mine = [s for s in found if lab.lab.id in s.lab_set]
    assert set(np.concatenate([s.ids for s in mine]).tolist()) == set(ids + more)
    for kit, query in ((lab, ids[0]), (other_lab, others[0])):
        search = _search(kit, query)
        top, exact = searches.rank(search), searches.rank_from_database(search)
        assert [i for i, _ in top] == [i for i, _ in exact] and len(top) == 20
        shards = signature_index.shard_ranges(search.algorithm_version, 70)
        parts = [r for lo, hi in shards for r in searches.shortlist(search, lo, hi)]
        searches.start(search)
        assert [i for c in searches.to_chunks(search, parts, 10) for i, _ in c] == \
            [i for i, _ in exact]
    db.session.rollback()
