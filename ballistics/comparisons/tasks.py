"""Celery tasks of the comparison workflow: ids in, a domain service call, one commit.

Feature extraction acknowledges late, so a worker killed mid-task loses nothing: the broker
hands the task to another worker, and the unique (sha256, version) key keeps exactly one
feature set. Transient errors are retried; once a task gives up, its scan or search is FAILED
with a reason a person can read. A periodic sweep requeues work still waiting to start, and
requeues or fails work left running by a worker that vanished.
"""

from __future__ import annotations

from celery import chord
from celery.schedules import crontab
from celery.signals import celeryd_after_setup
from flask import current_app
from sqlalchemy.exc import OperationalError

from ballistics import imaging
from ballistics.comparisons import scans, searches, signature_index
from ballistics.comparisons.models import Scan, ScanStatus, Search, SearchStatus
from ballistics.core.celery import task
from ballistics.core.context import acting_as
from ballistics.core.wording import wording
from ballistics.extensions import db
from ballistics.outbox.services import enqueue

#: celery beat: look for stuck scans and searches every five minutes
BEAT_SCHEDULE = {
    "comparisons-sweep": {"task": "comparisons.sweep", "schedule": crontab(minute="*/5")},
}
TRANSIENT = (OperationalError, OSError)


@celeryd_after_setup.connect(dispatch_uid="comparisons-map-signature-index", weak=False)
def _map_signature_index(sender=None, instance=None, **_kwargs) -> None:
    signature_index.map_before_fork(instance, "signature index", signature_index.count)


def _scan_gave_up(exc: BaseException, scan_id: int) -> None:
    scan = db.session.get(Scan, scan_id)
    if scan is not None and scan.status != ScanStatus.DONE:
        with acting_as(None, scan.lab_id, "task:extract_features"):
            scans.mark(scan, ScanStatus.FAILED, scans.failure_reason(exc))


@task("comparisons.extract_features", on_give_up=_scan_gave_up, retry_on=TRANSIENT)
def extract_features(scan_id: int) -> str:
    scan = db.session.get(Scan, scan_id)
    if scan is None:
        return "gone"
    with acting_as(None, scan.lab_id, "task:extract_features"):
        if scan.status == ScanStatus.DONE:
            return "done already"
        scans.mark(scan, ScanStatus.RUNNING)
        scan.attempts += 1
        db.session.commit()
        try:
            scans.compute_features(scan)
        except imaging.ImagingError as exc:
            scans.mark(scan, ScanStatus.FAILED, scans.failure_reason(exc))
            db.session.commit()
            return "failed"
        scans.mark(scan, ScanStatus.DONE)
        # Into the signature index once this commits (the outbox: never lost).
        enqueue("comparisons.index_scans", [scan.id])
        scans.features_ready.send(scan)
        if current_app.config["COMPARISON_AUTO_SEARCH"] and not scan.item.is_disposed:
            # New entries are correlated against the lab's references (as NIBIN does).
            searches.start_search(None, scan, automatic=True)
        db.session.commit()
    return "done"


def _search_gave_up(exc: BaseException, search_id: int, *_args) -> None:
    searches.fail(search_id, wording("Stage 1 failed (%(detail)s).",
                                     detail=f"{type(exc).__name__}: {exc}"))


@task("comparisons.run_search", on_give_up=_search_gave_up)
def run_search(search_id: int) -> str:
    """Stage 1, claimed once (:func:`searches.claim`): the claim and the chord it starts are
    committed together, so a redelivery of this task after the chord was sent does nothing,
    and one whose predecessor died before sending it starts it."""
    search = searches.claim(search_id)
    if search is None:
        db.session.rollback()
        return "skipped"
    from_index = current_app.config["SEARCH_FROM_INDEX"]
    with acting_as(search.created_by_id, search.lab_id, "task:run_search"):
        shards = searches.shard_bounds(search, current_app.config["SEARCH_SHARD_SIZE"],
                                       from_index=from_index)
        if len(shards) > 1:
            chord(rank_shard.s(search_id, lo, hi) for lo, hi in shards)(
                start_comparisons.s(search_id).on_error(search_failed.si(search_id)))
            db.session.commit()
            return f"{len(shards)} shards"
        top = searches.rank(search) if from_index else searches.rank_from_database(search)
        chunks = searches.to_chunks(search, top, current_app.config["SEARCH_CHUNK_SIZE"])
        outcome = _compare(search_id, chunks)
        db.session.commit()
    return outcome


@task("comparisons.index_scans", retry_on=TRANSIENT)
def index_scans(scan_ids: list[int]) -> int:
    """Append done scans' signatures to the shared signature index (idempotent: a row stored
    twice counts once)."""
    return signature_index.append(scan_ids)


@task("comparisons.rank_shard", on_give_up=_search_gave_up, retry_on=TRANSIENT)
def rank_shard(search_id: int, lo: int, hi: int) -> dict | list:
    """Stage 1 over one shard of the references (scan ids lo..hi), from the signature index:
    its shortlist ``(id, bound, exact)`` and its count of admissible references. Acknowledged
    late: if the worker dies, the broker hands the shard to another worker."""
    search = db.session.get(Search, search_id)
    # QUEUED too: the claim that sent this shard commits with the sending (searches.locked).
    if search is None or search.status not in (SearchStatus.QUEUED, SearchStatus.RANKING):
        return {"n": 0, "top": []}
    if not current_app.config["SEARCH_FROM_INDEX"]:
        return [list(r) for r in searches.rank_from_database(search, lo, hi)]
    top, n = searches.shard_shortlist(search, lo, hi)
    return {"n": n, "top": [list(r) for r in top]}


@task("comparisons.start_comparisons")
def start_comparisons(shard_tops: list[list], search_id: int) -> str:
    """Close stage 1 and start stage 2, once (:func:`searches.claim_comparisons`; a duplicate
    chord's callback, or this one redelivered after committing, finds it done)."""
    search = searches.claim_comparisons(search_id)
    if search is None:
        db.session.rollback()
        return "skipped"
    with acting_as(search.created_by_id, search.lab_id, "task:run_search"):
        size = current_app.config["SEARCH_CHUNK_SIZE"]
        if shard_tops and isinstance(shard_tops[0], dict):
            chunks = searches.to_chunks(search, shard_tops, size)
        else:  # the former stage 1 (SEARCH_FROM_INDEX=0): each shard's top K
            chunks = searches.to_chunks(search, [tuple(r) for top in shard_tops for r in top],
                                        size)
        outcome = _compare(search_id, chunks)
        db.session.commit()
    return outcome


def _compare(search_id: int, chunks: list) -> str:
    """Start stage 2 inside the caller's claim (committed by the caller after this)."""
    if not chunks:
        searches.finish(search_id, [])
        return "no references"
    chord(compare_chunk.s(search_id, chunk) for chunk in chunks)(
        finish_search.s(search_id).on_error(search_failed.si(search_id)))
    return f"{len(chunks)} chunks"


@task("comparisons.compare_chunk")
def compare_chunk(search_id: int, chunk: list) -> list[dict]:
    results = searches.compare_chunk(search_id, chunk)
    db.session.commit()
    return results


@task("comparisons.finish_search")
def finish_search(chunk_results: list[list[dict]], search_id: int) -> int:
    search = db.session.get(Search, search_id)
    with acting_as(search.created_by_id, search.lab_id, "task:finish_search"):
        searches.finish(search_id, [r for chunk in chunk_results for r in chunk])
        db.session.commit()
    return len(search.candidates)


@task("comparisons.search_failed", acks_late=False)
def search_failed(search_id: int) -> None:
    searches.fail(search_id, wording("A comparison task failed; see the worker log, then "
                                     "retry."))
    db.session.commit()


@task("comparisons.sweep", acks_late=False)
def sweep() -> dict:
    """Requeue scans a vanished worker left RUNNING (a few times, then FAILED) and searches still
    waiting to start; fail searches a worker started and did not finish in time, so no page
    waits for ever on a lost message or a vanished worker."""
    summary = scans.sweep_stuck(current_app.config["WORK_STUCK_AFTER"])
    summary.update(searches.sweep_stuck(current_app.config["WORK_STUCK_AFTER"]))
    db.session.commit()
    return summary
