"""Searches: filter references by class characteristics, rank them by signature (stage 1),
compare the top K in full (stage 2, in parallel chunks on the workers), store candidates.

The software ranks and scores; it never concludes. Examiners mark candidates and confirm with
the microscope.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from ballistics import imaging
from ballistics.auth.access import require_role
from ballistics.auth.models import User
from ballistics.comparisons import signature_index, validation
from ballistics.comparisons.models import (
    Candidate,
    FeatureSet,
    Scan,
    ScanStatus,
    Search,
    SearchStatus,
)
from ballistics.comparisons.permissions import SCAN_AND_SEARCH
from ballistics.comparisons.scans import SWEEP
from ballistics.core.context import acting_as
from ballistics.core.errors import Conflict
from ballistics.core.labels import label
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import Wording, english, wording
from ballistics.evidence.holds import require_in_custody
from ballistics.extensions import db
from ballistics.imaging.index import merge_shortlists
from ballistics.imaging.segments import code, scan_shortlist
from ballistics.outbox.services import enqueue

#: fields of a comparison result a candidate does not keep (see :func:`finish`)
UNSTORED = ("cells_reverse", "params")


def calibration() -> imaging.Calibration:
    return validation.calibration()


def start_search(actor: User | None, scan: Scan, *, k: int = 100, scope: str = "lab",
                 automatic: bool = False) -> Search:
    if actor is not None:
        require_role(actor, SCAN_AND_SEARCH, "search scans")
    require_in_custody(scan.item, "new searches")
    if scan.status != ScanStatus.DONE:
        raise Conflict(_("Scan %(id)s has no features yet (%(status)s); search once it is done.",
                         id=scan.id, status=label(scan.status)), code="scan_not_ready")
    search = Search(lab_id=scan.lab_id, query_scan_id=scan.id, scope=scope, k=k,
                    algorithm_version=imaging.ALGORITHM_VERSION, is_automatic=automatic,
                    filters={"region": scan.region, "calibre": scan.calibre},
                    created_by_id=actor.id if actor else None)
    db.session.add(search)
    db.session.flush()
    enqueue("comparisons.run_search", search.id)
    return search


def reference_query(search: Search, query: Scan, *columns):
    """References a search may see: done scans kept as open cases, of the same lab, region and
    calibre (or with no calibre recorded), other items than the query's own. A scan uploaded
    with ``open_case=false`` (e.g. a closed case) is searched but never searched against.

    Scans of released or destroyed items stay admissible: the scan records the exhibit as it
    was, and a hit against it is still an investigative lead (a released firearm can be
    resubmitted). The candidate list and the viewer mark such references, because the lead
    cannot be confirmed at the microscope until the exhibit is back (never, if destroyed)."""
    return (select(*(columns or (Scan.id, FeatureSet.signature)))
            .join(FeatureSet, (FeatureSet.sha256 == Scan.sha256)
                  & (FeatureSet.algorithm_version == search.algorithm_version))
            .where(*reference_filter(search, query)))


def reference_filter(search: Search, query: Scan) -> list:
    """The conditions on scans of :func:`reference_query` (the feature set's version apart)."""
    conditions = [Scan.lab_id == search.lab_id, Scan.status == ScanStatus.DONE,
                  Scan.is_open_case.is_(True), Scan.region == query.region,
                  Scan.item_id != query.item_id]
    if query.calibre:
        conditions.append(or_(Scan.calibre == query.calibre, Scan.calibre == ""))
    return conditions


def admissible_ids(search: Search, query: Scan, lo: int = 0,
                   hi: int = signature_index.MAX_ID) -> np.ndarray:
    """Ids (never signatures) of the references ``search`` may see now, within ``lo..hi``:
    the database decides, so a change (a case closed, a scan failed) counts at once. Without
    the join to feature sets (a scan lacking features of the version is simply not in the
    index: :func:`shard_shortlist` finds none for it), so one index scan of ``scans``."""
    stmt = select(Scan.id).where(*reference_filter(search, query))
    if (lo, hi) != (0, signature_index.MAX_ID):
        stmt = stmt.where(Scan.id.between(lo, hi))
    return np.fromiter(db.session.scalars(stmt), dtype=np.int64)


def shard_bounds(search: Search, shard_size: int, *, from_index: bool = True
                 ) -> list[tuple[int, int]]:
    """Split the indexed references into id ranges of about ``shard_size`` rows, so stage 1
    over a regional-scale reference set runs as parallel tasks (``from_index=False``: the
    former split, of the admissible ids read from the database)."""
    query = db.session.get(Scan, search.query_scan_id)
    if not from_index:
        ids = db.session.scalars(reference_query(search, query, Scan.id).order_by(Scan.id)).all()
        search.n_references = len(ids)
        return [(ids[i], ids[min(i + shard_size, len(ids)) - 1])
                for i in range(0, len(ids), shard_size)]
    # n_references: the shards count their admissible references (see shard_shortlist).
    return signature_index.shard_ranges(search.algorithm_version, shard_size)


def _query_vector(search: Search, query: Scan) -> np.ndarray:
    vector = signature_index.query_vector(search.algorithm_version, query.id)
    if vector is None:  # not appended yet: the query's own row, once
        vector = np.frombuffer(db.session.scalar(select(FeatureSet.signature).where(
            FeatureSet.sha256 == query.sha256,
            FeatureSet.algorithm_version == search.algorithm_version)), dtype=np.float32)
    return vector


def shortlist(search: Search, lo: int = 0, hi: int = signature_index.MAX_ID
              ) -> list[tuple[int, float, float]]:
    """Stage 1 over the references with ids ``lo..hi``, from the signature index: the best
    rows by the similarity's bound with their exact similarity (``(id, bound, exact)``, merged
    by :func:`to_chunks`). Admissible references missing from the index are appended first."""
    top, n = shard_shortlist(search, lo, hi)
    if (lo, hi) == (0, signature_index.MAX_ID):
        search.n_references = n
    return top


def shard_shortlist(search: Search, lo: int, hi: int
                    ) -> tuple[list[tuple[int, float, float]], int]:
    """:func:`shortlist` of one shard, and how many admissible references (with features) the
    shard holds."""
    query = db.session.get(Scan, search.query_scan_id)
    admissible = admissible_ids(search, query, lo, hi)
    if admissible.size == 0:
        return [], 0
    vector = _query_vector(search, query)
    filters = dict(lab=search.lab_id, region=index_code(query.region),
                   calibre=index_code(query.calibre) if query.calibre else None,
                   admissible=admissible, k=search.k)
    out, found = scan_shortlist(signature_index.segments(search.algorithm_version), vector,
                                lo, hi, **filters)
    missing = np.setdiff1d(admissible, found)
    # Admissible but not in the files: an append still on its way, a damaged segment set
    # aside, an index never built. Read those from the database once and append them (a scan
    # without features of this version has none to read, and counts for nothing).
    if missing.size and signature_index.append(missing.tolist(), search.algorithm_version):
        out, found = scan_shortlist(signature_index.segments(search.algorithm_version), vector,
                                    lo, hi, **filters)
    return out, int(found.size)


def index_code(text: str) -> int:
    return code(str(text))


def rank(search: Search) -> list[tuple[int, float]]:
    """Stage 1 over all references, in this process: the top K ``(id, similarity)``."""
    return merge_shortlists(shortlist(search), search.k)


def rank_from_database(search: Search, lo: int | None = None, hi: int | None = None
                       ) -> list[tuple[int, float]]:
    """The former stage 1 (over all references, or scan ids ``lo..hi``), kept as the reference
    the index is checked and timed against, and as the fallback (``SEARCH_FROM_INDEX=0``):
    every admissible signature loaded from the database into a fresh in-memory index."""
    query = db.session.get(Scan, search.query_scan_id)
    qset = db.session.scalar(select(FeatureSet).where(
        FeatureSet.sha256 == query.sha256,
        FeatureSet.algorithm_version == search.algorithm_version))
    stmt = reference_query(search, query)
    if lo is not None:
        stmt = stmt.where(Scan.id.between(lo, hi))
    rows = db.session.execute(stmt).all()
    if lo is None:
        search.n_references = len(rows)
    if not rows:
        return []
    index = imaging.SignatureIndex()
    index.add([r[0] for r in rows],
              np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows]))
    return [(int(i), float(s)) for i, s in
            index.search(np.frombuffer(qset.signature, dtype=np.float32), search.k)]


def start(search: Search) -> None:
    search.status, search.started_at = SearchStatus.RANKING, utcnow()


def to_chunks(search: Search, top: list[tuple[int, float]], chunk_size: int
              ) -> list[list[tuple[int, float]]]:
    """Close stage 1 with the global top K (``(id, similarity)``, or the shards' ``(id, bound,
    exact)`` shortlists, merged here); return the stage-2 chunks of ``chunk_size`` pairs
    (``SEARCH_CHUNK_SIZE``), one task each."""
    if top and isinstance(top[0], dict):  # shard results: {"n": ..., "top": [...]}
        search.n_references = sum(r["n"] for r in top)
        top = [r for shard in top for r in shard["top"]]
    top = [tuple(r) for r in top]
    if top and len(top[0]) == 3:
        top = merge_shortlists(top, search.k)
    top = sorted(top, key=lambda r: -r[1])[:search.k]
    search.stage1_ms = (utcnow() - search.started_at).total_seconds() * 1000
    search.progress_total, search.progress_done = len(top), 0
    search.status = SearchStatus.COMPARING
    size = max(int(chunk_size), 1)
    return [top[i:i + size] for i in range(0, len(top), size)]


def _features(scan_ids: list[int], version: str) -> dict[int, imaging.Features]:
    rows = db.session.execute(
        select(Scan.id, FeatureSet.data)
        .join(FeatureSet, (FeatureSet.sha256 == Scan.sha256)
              & (FeatureSet.algorithm_version == version))
        .where(Scan.id.in_(scan_ids))).all()
    return {sid: imaging.features_from_bytes(data) for sid, data in rows}


#: the last query's features in this worker process, with what ``imaging.compare`` prepared
#: on them (alignment, cells): the next chunk of the same search skips reading, decoding and
#: preparing them again. One entry: a process works on one search's chunks at a time. Keyed by
#: the database too: ids are only unique within one (a process may serve several apps).
_last_query: dict[tuple, imaging.Features] = {}


def cached_query(key: tuple, load: Callable[[], imaging.Features]) -> imaging.Features:
    """The query's features for stage 2, loaded (``load()``: read and decode) once per worker
    process and search; ``key`` names the search's query within this database (a lab's scan,
    the hub's partner search)."""
    key = (str(db.engine.url), *key)
    query = _last_query.get(key)
    if query is None:
        query = load()
        _last_query.clear()
        _last_query[key] = query
    return query


def _query_features(search: Search) -> imaging.Features:
    scan_id, version = search.query_scan_id, search.algorithm_version
    return cached_query(("scan", scan_id, version),
                        lambda: _features([scan_id], version)[scan_id])


def compare_chunk(search_id: int, chunk: list[tuple[int, float]]) -> list[dict]:
    """Stage 2 for one chunk: full comparisons against the query; progress is counted. The
    chunk's references are read in one statement; the query once per process and search."""
    search = db.session.get(Search, search_id)
    ids = [int(sid) for sid, _ in chunk]
    query = _query_features(search)
    feats = _features(ids, search.algorithm_version)
    out = []
    region = (search.filters or {}).get("region", "breech_face")
    for sid, similarity in chunk:
        ref = feats[int(sid)]
        result = imaging.compare(query, ref)
        lr, why = validation.likelihood_ratio(result.score, query.meta, ref.meta, region)
        # Only what finish() stores travels back through the result backend (the reverse
        # cells and the parameters doubled each pair's JSON, for nothing).
        out.append({"reference_scan_id": int(sid), "signature_similarity": similarity,
                    **result.to_dict(exclude=UNSTORED), "likelihood_ratio": lr,
                    "lr_note": english(why) if why else "", "lr_wording": why})
    db.session.execute(update(Search).where(Search.id == search_id)
                       .values(progress_done=Search.progress_done + len(chunk)))
    return out


def finish(search_id: int, results: list[dict]) -> Search:
    """Store the candidate list ranked by the full comparison's score, once: a second
    callback (a duplicate chord) finds the search no longer COMPARING and stores nothing."""
    search = locked(Search, search_id)
    if search.status != SearchStatus.COMPARING:
        return search
    results = sorted(results, key=lambda r: (-r["score"], -r["signature_similarity"]))
    for rank_, r in enumerate(results, start=1):
        dx, dy = r["translation_px"]
        db.session.add(Candidate(
            lab_id=search.lab_id, search_id=search.id, rank=rank_,
            reference_scan_id=r["reference_scan_id"],
            signature_similarity=r["signature_similarity"], score=r["score"],
            cmc_count=r["cmc_count"], cmc_count_reverse=r["cmc_count_reverse"],
            pairwise_ccf=r["pairwise_ccf"] if r["pairwise_ccf"] is not None else 0.0,
            likelihood_ratio=r["likelihood_ratio"], lr_note=r["lr_note"],
            # .get: a chunk compared by a worker of the release before wordings has none
            lr_wording=r.get("lr_wording"),
            rotation_deg=r["rotation_deg"], dx_px=dx, dy_px=dy, cells=r["cells"]))
    search.status, search.finished_at = SearchStatus.DONE, utcnow()
    if search.started_at is not None:
        total_ms = (search.finished_at - search.started_at).total_seconds() * 1000
        search.stage2_ms = max(total_ms - (search.stage1_ms or 0.0), 0.0)
    return search


def retry_search(actor: User, search: Search) -> Search:
    """A new search of the same scan with the same size, for one that failed (the failed one
    stays on record)."""
    if search.status != SearchStatus.FAILED:
        raise Conflict(_("Search %(id)s is %(status)s; only a failed search is retried.",
                         id=search.id, status=label(search.status)),
                       code="not_failed")
    return start_search(actor, search.query_scan, k=search.k, scope=search.scope)


def locked(model: type, search_id: int):
    """The search row of ``model`` (a lab's :class:`Search`, the hub's ``HubSearch``), read
    afresh and locked until this transaction ends: a task claims a stage of the search under
    this lock, starts the stage's chord, and commits both together. A second delivery of the
    task (acks_late redelivery, the outbox relaying twice) waits here and then sees the stage
    claimed; a delivery whose predecessor died before committing sees it unclaimed and
    proceeds, so nothing is lost. (SQLite locks the whole database on the first write.)"""
    return db.session.get(model, search_id, with_for_update=True, populate_existing=True)


def claim(search_id: int) -> Search | None:
    """Stage 1 of a queued search, claimed by this delivery of ``comparisons.run_search``
    (locked, see :func:`locked`), or None when another delivery started it already."""
    search = locked(Search, search_id)
    if search is None or search.status != SearchStatus.QUEUED:
        return None
    start(search)
    return search


def claim_comparisons(search_id: int) -> Search | None:
    """The close of a sharded stage 1, claimed by this delivery of the shards' callback
    (:func:`to_chunks` moves the search to COMPARING once), or None."""
    search = locked(Search, search_id)
    return search if search is not None and search.status == SearchStatus.RANKING else None


def stuck(model: type, unfinished: list, after_seconds: int, since=None) -> list[int]:
    """Ids of searches of ``model`` still in one of the ``unfinished`` states ``after_seconds``
    after ``since`` (by default when they started, or were queued if they never started)."""
    cutoff = utcnow() - timedelta(seconds=after_seconds)
    if since is None:
        since = func.coalesce(model.started_at, model.created_at)
    return db.session.scalars(select(model.id).where(
        model.status.in_(unfinished), since < cutoff).order_by(model.id)).all()


def stuck_reason(after_seconds: int) -> Wording:
    return wording("The search did not finish within %(seconds)s s (a worker may have "
                   "stopped); retry it.", seconds=after_seconds)


def sweep_stuck(after_seconds: int) -> dict[str, int]:
    """Searches a worker started and did not finish within ``after_seconds`` fail with a
    reason (the examiner retries them). A search still waiting to start is sent again instead,
    once per ``after_seconds``: waiting is what a broker outage or a long queue looks like, and
    failing it lost the examiner's request (its first message, relayed from the outbox when the
    broker came back, then found it failed). A second message is harmless: the first delivery
    claims the search (:func:`claim`), every other one finds it claimed and does nothing."""
    waiting = stuck(Search, [SearchStatus.QUEUED], after_seconds,
                    since=func.coalesce(Search.queued_at, Search.created_at))
    for search in db.session.scalars(select(Search).where(Search.id.in_(waiting))):
        with acting_as(None, search.lab_id, SWEEP):
            search.queued_at = utcnow()
            enqueue("comparisons.run_search", search.id)
    started = stuck(Search, [SearchStatus.RANKING, SearchStatus.COMPARING], after_seconds)
    for search in db.session.scalars(select(Search).where(Search.id.in_(started))):
        with acting_as(None, search.lab_id, SWEEP):
            fail(search.id, stuck_reason(after_seconds))
    return {"searches_requeued": len(waiting), "searches_failed": len(started)}


def fail(search_id: int, reason: Wording) -> None:
    """Record why a search failed (in English and as its wording); a search done already stays
    done (a late error of a duplicate task says nothing about the list stored)."""
    search = db.session.get(Search, search_id)
    if search is not None and search.status != SearchStatus.DONE:
        search.status, search.error = SearchStatus.FAILED, english(reason)[:2000]
        search.error_wording = reason
        search.finished_at = utcnow()
