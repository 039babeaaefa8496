"""Stage 1 of the hub's partner searches from the signature index (docs/signature-index.md),
as a lab's searches do: the shared records' signatures live in segment files of their own
(``<SIGNATURE_INDEX>/hub/<algorithm version>``), and the hub's database decides, by ids, what a
member may see at the moment of its search.

A hub record is updated in place when its owner sends a newer version (a new signature under
the same ``hub_records.id``), while the files never change a row. So a row's id is the record
*and* its version (:func:`index_id`): the admissible ids name only the current version, and a
superseded signature, like a withdrawn record's, stays in the files as a tombstone no search
counts.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, or_, select

from ballistics import imaging
from ballistics.comparisons import signature_index
from ballistics.extensions import db
from ballistics.imaging import segments as seg
from ballistics.imaging.index import merge_shortlists
from ballistics.network.models import HubRecord, HubSearch

NAMESPACE = "hub"
#: versions are counted up by one per change by the owner's node; 32 bits hold them
VERSION_BITS = 32
#: the highest index id (int64)
MAX_INDEX_ID = 2**63 - 1
#: every hub row's lab column: members' admissibility is decided by the admissible ids alone
ANY_LAB = 0


def index_id(record_id: int, version: int) -> int:
    return (int(record_id) << VERSION_BITS) | int(version)


def record_of(index_id_: int) -> int:
    return int(index_id_) >> VERSION_BITS


def append(record_ids: list[int]) -> int:
    """Append the current signatures of these records (not withdrawn), one segment per
    algorithm version; return the rows written."""
    rows = db.session.execute(
        select(HubRecord.id, HubRecord.version, HubRecord.algorithm_version, HubRecord.region,
               HubRecord.calibre, HubRecord.signature)
        .where(HubRecord.id.in_(record_ids), HubRecord.withdrawn_at.is_(None))
        .order_by(HubRecord.id)).all()
    for version in sorted({r.algorithm_version for r in rows}):
        mine = [r for r in rows if r.algorithm_version == version]
        seg.write_segment(
            signature_index.folder(version, NAMESPACE), version,
            [index_id(r.id, r.version) for r in mine], [ANY_LAB] * len(mine),
            [seg.code(r.region) for r in mine], [seg.code(r.calibre or "") for r in mine],
            np.stack([np.frombuffer(r.signature, np.float32) for r in mine]))
        signature_index.merge_small(version, NAMESPACE)
    return len(rows)


def admissible(requester: str, search: HubSearch, lo: int = 0, hi: int = MAX_INDEX_ID
               ) -> dict[int, int]:
    """``{index id: record id}`` of the records ``requester`` may search now, with index ids
    ``lo..hi`` (a shard's range): current, same algorithm version, region and calibre (or none
    recorded), another member's, shared with everyone or with the requester. Not the
    requester's own: its lab search compares them with the case files at hand, and a scan it
    shares would otherwise come back as its own first candidate. Ids only, never a
    signature."""
    stmt = select(HubRecord.id, HubRecord.version, HubRecord.shared_with,
                  HubRecord.owner_code).where(
        HubRecord.withdrawn_at.is_(None), HubRecord.algorithm_version == search.algorithm_version,
        HubRecord.region == search.region)
    if search.calibre:
        stmt = stmt.where(or_(HubRecord.calibre == search.calibre, HubRecord.calibre == ""))
    if (lo, hi) != (0, MAX_INDEX_ID):
        stmt = stmt.where(HubRecord.id.between(record_of(lo), record_of(hi)))
    out = {}
    for rid, version, shared, owner in db.session.execute(stmt):
        iid = index_id(rid, version)
        if lo <= iid <= hi and owner != requester and ("*" in shared or requester in shared):
            out[iid] = rid
    return out


def shard_ranges(search: HubSearch, shard_rows: int) -> list[tuple[int, int]]:
    """Ranges of index ids of about ``shard_rows`` rows of the hub's files each (rows of every
    region and owner: the scan masks the others, as a lab's shards do), covering every id."""
    return signature_index.shard_ranges(search.algorithm_version, shard_rows, NAMESPACE,
                                        MAX_INDEX_ID)


def shard_shortlist(search: HubSearch, lo: int = 0, hi: int = MAX_INDEX_ID
                    ) -> tuple[list[tuple[int, float, float]], int]:
    """Stage 1 over the index ids ``lo..hi``: ``(record id, bound, exact)`` of the best rows
    by the similarity's bound (merged by :func:`merge`), and how many admissible records the
    range holds. Admissible records missing from the files (their append still queued, an
    index never built) are read once and appended, so the next search needs no database
    read."""
    allowed = admissible(search.requester_code, search, lo, hi)
    if not allowed:
        return [], 0
    ids = np.fromiter(allowed, dtype=np.int64, count=len(allowed))
    vector = np.frombuffer(search.signature, np.float32)
    filters = dict(lab=ANY_LAB, region=seg.code(search.region),
                   calibre=seg.code(search.calibre) if search.calibre else None,
                   admissible=ids, k=search.k)
    version = search.algorithm_version

    def scan():
        return seg.scan_shortlist(signature_index.segments(version, NAMESPACE), vector, lo, hi,
                                  **filters)

    out, found = scan()
    missing = np.setdiff1d(ids, found)
    if missing.size and append(sorted({allowed[int(i)] for i in missing})):
        out, found = scan()
    # Only the current version of a record is admissible: one index id per record id.
    return [(allowed[int(i)], b, e) for i, b, e in out], len(allowed)


def merge(search: HubSearch, shards: list[tuple[list, int]]) -> list[tuple[int, float]]:
    """The top K ``(record id, similarity)`` from the shards' shortlists (the same list as one
    scan of the whole range); counts the admissible records."""
    search.n_references = sum(n for _, n in shards)
    return [(int(i), float(s)) for i, s in
            merge_shortlists([tuple(r) for top, _ in shards for r in top], search.k)]


def rank(search: HubSearch) -> list[tuple[int, float]]:
    """Stage 1 over every admissible record, in this process: the top K ``(record id,
    similarity)``, from the index."""
    return merge(search, [shard_shortlist(search)])


def rebuild(version: str | None = None, batch: int = signature_index.REBUILD_BATCH) -> int:
    """Recreate the hub's index of ``version`` from ``hub_records`` (current records, not
    withdrawn); return its rows (:func:`~ballistics.comparisons.signature_index.
    replace_segments`, as a lab's rebuild)."""
    version = version or imaging.ALGORITHM_VERSION

    def batches():
        last = 0
        while True:
            rows = db.session.execute(
                select(HubRecord.id, HubRecord.version, HubRecord.region, HubRecord.calibre,
                       HubRecord.signature)
                .where(HubRecord.algorithm_version == version, HubRecord.withdrawn_at.is_(None),
                       HubRecord.id > last)
                .order_by(HubRecord.id).limit(batch)).all()
            if not rows:
                break
            yield ([index_id(r.id, r.version) for r in rows], [ANY_LAB] * len(rows),
                   [seg.code(r.region) for r in rows], [seg.code(r.calibre or "") for r in rows],
                   np.stack([np.frombuffer(r.signature, np.float32) for r in rows]))
            last = rows[-1].id

    return signature_index.replace_segments(version, batches(), NAMESPACE)


def count(version: str | None = None) -> int:
    return signature_index.count(version, NAMESPACE)


def database_count(version: str | None = None) -> int:
    """Current (not withdrawn) records of ``version``: the rows a rebuilt index holds."""
    return db.session.scalar(select(func.count(HubRecord.id)).where(
        HubRecord.algorithm_version == (version or imaging.ALGORITHM_VERSION),
        HubRecord.withdrawn_at.is_(None)))


def rank_from_database(search: HubSearch) -> list[tuple[int, float]]:
    """The former stage 1 (every admissible signature read from ``hub_records`` into a fresh
    in-memory index), kept as the reference the index is checked against."""
    allowed = admissible(search.requester_code, search)
    rows = db.session.execute(select(HubRecord.id, HubRecord.signature).where(
        HubRecord.id.in_(set(allowed.values())))).all()
    if not rows:
        return []
    index = imaging.SignatureIndex()
    index.add([r[0] for r in rows], np.stack([np.frombuffer(r[1], np.float32) for r in rows]))
    return [(int(i), float(s)) for i, s in
            index.search(np.frombuffer(search.signature, np.float32), search.k)]
