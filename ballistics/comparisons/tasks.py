"""Celery tasks of the comparison workflow: ids in, a domain service call, one commit.

Feature extraction acknowledges late and is retried, so a worker killed mid-task loses nothing:
the broker hands the task to another worker, and the unique (sha256, version) key keeps exactly
one feature set.
"""

from __future__ import annotations

from celery import chord, shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from ballistics import imaging
from ballistics.comparisons import scans, searches
from ballistics.comparisons.models import Scan, ScanStatus, Search, SearchStatus
from ballistics.core.context import acting_as
from ballistics.extensions import db


@shared_task(name="comparisons.extract_features", acks_late=True,
             autoretry_for=(OperationalError, OSError), retry_backoff=True, max_retries=5)
def extract_features(scan_id: int) -> str:
    scan = db.session.get(Scan, scan_id)
    if scan is None:
        return "gone"
    with acting_as(None, scan.lab_id, "task:extract_features"):
        if scan.status == ScanStatus.DONE:
            return "done already"
        scans.mark(scan, ScanStatus.RUNNING)
        db.session.commit()
        try:
            scans.compute_features(scan)
        except imaging.ImagingError as exc:
            scans.mark(scan, ScanStatus.FAILED, str(exc))
            db.session.commit()
            return "failed"
        scans.mark(scan, ScanStatus.DONE)
        if current_app.config["COMPARISON_AUTO_SEARCH"]:
            # New entries are correlated against the lab's references (as NIBIN does).
            searches.start_search(None, scan, automatic=True)
        db.session.commit()
    return "done"


@shared_task(name="comparisons.run_search", acks_late=True)
def run_search(search_id: int) -> str:
    search = db.session.get(Search, search_id)
    if search is None or search.status not in (SearchStatus.QUEUED, SearchStatus.RANKING):
        return "skipped"
    with acting_as(search.created_by_id, search.lab_id, "task:run_search"):
        try:
            searches.start(search)
            shards = searches.shard_bounds(search, current_app.config["SEARCH_SHARD_SIZE"])
            if len(shards) > 1:
                db.session.commit()
                chord(rank_shard.s(search_id, lo, hi) for lo, hi in shards)(
                    start_comparisons.s(search_id).on_error(search_failed.si(search_id)))
                return f"{len(shards)} shards"
            chunks = searches.to_chunks(search, searches.rank(search))
        except Exception as exc:
            db.session.rollback()
            searches.fail(search_id, f"stage 1 failed: {exc}")
            db.session.commit()
            raise
        db.session.commit()
    return _compare(search_id, chunks)


@shared_task(name="comparisons.rank_shard", acks_late=True)
def rank_shard(search_id: int, lo: int, hi: int) -> list:
    """Stage 1 over one shard of the references (scan ids lo..hi): its top K."""
    return searches.rank(db.session.get(Search, search_id), lo, hi)


@shared_task(name="comparisons.start_comparisons", acks_late=True)
def start_comparisons(shard_tops: list[list], search_id: int) -> str:
    search = db.session.get(Search, search_id)
    with acting_as(search.created_by_id, search.lab_id, "task:run_search"):
        chunks = searches.to_chunks(search, [tuple(r) for top in shard_tops for r in top])
        db.session.commit()
    return _compare(search_id, chunks)


def _compare(search_id: int, chunks: list) -> str:
    if not chunks:
        finish_search([], search_id)
        return "no references"
    chord(compare_chunk.s(search_id, chunk) for chunk in chunks)(
        finish_search.s(search_id).on_error(search_failed.si(search_id)))
    return f"{len(chunks)} chunks"


@shared_task(name="comparisons.compare_chunk", acks_late=True)
def compare_chunk(search_id: int, chunk: list) -> list[dict]:
    results = searches.compare_chunk(search_id, chunk)
    db.session.commit()
    return results


@shared_task(name="comparisons.finish_search", acks_late=True)
def finish_search(chunk_results: list[list[dict]], search_id: int) -> int:
    search = db.session.get(Search, search_id)
    with acting_as(search.created_by_id, search.lab_id, "task:finish_search"):
        searches.finish(search_id, [r for chunk in chunk_results for r in chunk])
        db.session.commit()
    return len(search.candidates)


@shared_task(name="comparisons.search_failed")
def search_failed(search_id: int) -> None:
    searches.fail(search_id, "a comparison chunk failed; see the worker log")
    db.session.commit()
