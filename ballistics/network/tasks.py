"""Network tasks. At a lab node: deliver to the hub in order, submit and follow partner
searches, pull the inbox, keep what is shared in line with the policy. At the hub: run partner
searches (and fail those a vanished worker left unfinished), expire unanswered leads, forget
old nonces. Each does nothing in the other role."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import chord
from celery.schedules import crontab
from celery.signals import celeryd_after_setup
from flask import current_app
from sqlalchemy.exc import OperationalError

from ballistics.comparisons import signature_index
from ballistics.core.celery import task
from ballistics.core.context import acting_as
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import wording
from ballistics.extensions import db
from ballistics.network import client, hub, hub_index, node, trust
from ballistics.network.models import PartnerSearch, SearchState
from ballistics.outbox.services import enqueue

log = logging.getLogger(__name__)

#: errors worth a retry (a database or file store away for a moment)
TRANSIENT = (OperationalError, OSError)

BEAT_SCHEDULE = {
    "network-deliver": {"task": "network.deliver", "schedule": 30.0},
    "network-pull": {"task": "network.pull", "schedule": 30.0},
    "network-sync": {"task": "network.sync", "schedule": 300.0},
    "network-hub-expire-leads": {"task": "network.hub_expire_leads", "schedule": 3600.0},
    "network-hub-forget-nonces": {"task": "network.hub_forget_nonces", "schedule": 600.0},
}
#: minutes between two looks for stuck partner searches at the hub (as a lab's
#: ``comparisons-sweep``); with ``HUB_SEARCH_STUCK_AFTER`` it bounds when a lab reads the reason
HUB_SWEEP_MINUTES = 5
#: celery beat at the hub only (added by ``init_app`` where ``APP_ROLE=hub``)
HUB_BEAT_SCHEDULE = {
    "network-hub-sweep": {"task": "network.hub_sweep",
                          "schedule": crontab(minute=f"*/{HUB_SWEEP_MINUTES}")},
}


@celeryd_after_setup.connect(dispatch_uid="network-map-hub-index", weak=False)
def _map_hub_index(sender=None, instance=None, **_kwargs) -> None:
    """At the hub, the partner searches' index too, as a lab's worker maps its own."""
    signature_index.map_before_fork(instance, "hub signature index", hub_index.count, "hub")


def _role() -> str:
    return current_app.config["APP_ROLE"]


def _node_ready() -> bool:
    cfg = current_app.config
    return _role() == "lab" and bool(cfg["NETWORK_HUB_URL"] and cfg["NETWORK_LAB"])


# -- lab node --------------------------------------------------------------------------------


@task("network.deliver", acks_late=False)
def deliver() -> dict:
    """Send what waits for the hub, in order (also every 30 s by beat)."""
    if not _node_ready():
        return {"skipped": "not a connected lab node"}
    sent, failed = node.deliver()
    return {"sent": sent, "failed": failed}


def share_when_ready(scan, **_kwargs) -> None:
    """A scan whose features are ready goes to the hub now if the lab's policy shares it, not
    at beat's next sync (up to five minutes later): its sync, of that scan alone, is asked for
    in the transaction that marks the scan done."""
    if _node_ready():
        enqueue("network.sync", scan.id)


@task("network.sync", acks_late=False)
def sync(scan_id: int | None = None) -> dict:
    """The lab's shares in line with its policy: every scan (beat), or one just made ready."""
    if not _node_ready():
        return {"skipped": "not a connected lab node"}
    lab = node.node_lab()
    with acting_as(None, lab.id, "task:network.sync"):
        counts = node.sync_shares(lab.id, None if scan_id is None else [scan_id])
        db.session.commit()
    return counts


@task("network.pull", acks_late=False)
def pull() -> dict:
    if not _node_ready():
        return {"skipped": "not a connected lab node"}
    lab = node.node_lab()
    with acting_as(None, lab.id, "task:network.pull"):
        count = node.pull()
        db.session.commit()
    return {"events": count}


def _search_gave_up(exc: BaseException, search_id: int) -> None:
    # The exception (the hub's address, an errno) is for the log; the examiner reads what
    # happened and what to do, in their language.
    log.warning("partner search %s given up: %s", search_id, exc)
    if isinstance(exc, client.HubRefused):
        reason = wording("The regional hub refused the search (%(reason)s); nothing was "
                         "compared.", reason=exc.message or exc.code)
    else:
        reason = wording("The regional hub could not be reached; nothing was compared. Search "
                         "again once the hub is back.")
    node.fail_search(search_id, reason)


#: seconds between two tries to hand a queued partner search to a hub out of reach
HUB_WAIT_SECONDS = 30


@task("network.submit_search", on_give_up=_search_gave_up, retry_on=(OSError,))
def submit_search(search_id: int) -> str:
    search = db.session.get(PartnerSearch, search_id)
    if search is None or search.status != SearchState.QUEUED:
        return "skipped"
    with acting_as(search.created_by_id, search.lab_id, "task:network.submit_search"):
        try:
            node.submit_search(search)
        except client.HubUnavailable as exc:
            # The hub down is what an outage looks like: the search waits for it (as the lab's
            # outbox does) for NETWORK_SEARCH_TIMEOUT, and goes when it answers; failing it
            # after a minute of retries lost the examiner's request to a restart of the hub.
            db.session.rollback()
            limit = timedelta(seconds=current_app.config["NETWORK_SEARCH_TIMEOUT"])
            if utcnow() - search.created_at < limit:
                submit_search.apply_async((search_id,), countdown=HUB_WAIT_SECONDS)
                return "waiting for the hub"
            _search_gave_up(exc, search_id)
            db.session.commit()
            return "gave up"
        db.session.commit()
    poll_search.apply_async((search_id,), countdown=1)
    return "submitted"


@task("network.poll_search", on_give_up=_search_gave_up, retry_on=(OSError,))
def poll_search(search_id: int) -> str:
    search = db.session.get(PartnerSearch, search_id)
    if search is None or search.status != SearchState.RUNNING:
        return "skipped"
    with acting_as(search.created_by_id, search.lab_id, "task:network.poll_search"):
        if node.poll_search(search):
            db.session.commit()
            return search.status.value
        limit = timedelta(seconds=current_app.config["NETWORK_SEARCH_TIMEOUT"])
        if utcnow() - search.created_at > limit:
            node.fail_search(search.id, wording(
                "The regional hub did not answer within %(seconds)s s; search again.",
                seconds=int(limit.total_seconds())))
            db.session.commit()
            return "timed out"
    poll_search.apply_async((search_id,), countdown=1)
    return "waiting"


# -- hub -------------------------------------------------------------------------------------


def _hub_search_gave_up(exc: BaseException, search_id: int, *_args) -> None:
    hub.fail_search(search_id, f"{type(exc).__name__}: {exc}")


@task("network.hub_run_search", on_give_up=_hub_search_gave_up)
def hub_run_search(search_id: int) -> str:
    """Stage 1 (in shards above ``SEARCH_SHARD_SIZE`` rows of the hub's index, as a lab's),
    then stage 2 as chunks spread over the hub's workers (a chord, as a lab's search:
    ``SEARCH_CHUNK_SIZE`` pairs a task). Claimed once (:func:`hub.claim_search`): a
    redelivery after the chord was sent does nothing; one whose predecessor died before
    sending it starts it."""
    search = hub.claim_search(search_id)
    if search is None:
        db.session.rollback()
        return "skipped"
    with acting_as(None, None, "task:network.hub_run_search"):
        shards = hub_index.shard_ranges(search, current_app.config["SEARCH_SHARD_SIZE"])
        if len(shards) > 1:
            chord(hub_rank_shard.s(search_id, lo, hi) for lo, hi in shards)(
                hub_start_comparisons.s(search_id).on_error(hub_search_failed.si(search_id)))
            db.session.commit()
            return f"{len(shards)} shards"
        chunks = hub.rank_search(search_id, current_app.config["SEARCH_CHUNK_SIZE"])
        outcome = _hub_compare(search_id, chunks)
        db.session.commit()
    return outcome


@task("network.hub_rank_shard", on_give_up=_hub_search_gave_up, retry_on=TRANSIENT)
def hub_rank_shard(search_id: int, lo: int, hi: int) -> dict:
    """Stage 1 over one shard of the hub's index (index ids lo..hi): its shortlist and its
    count of admissible records. Acknowledged late: if the worker dies, the broker hands the
    shard to another worker."""
    return hub.shard_shortlist(search_id, lo, hi)


@task("network.hub_start_comparisons")
def hub_start_comparisons(shard_results: list[dict], search_id: int) -> str:
    """Close stage 1 and start stage 2, once (:func:`hub.claim_comparisons`)."""
    search = hub.claim_comparisons(search_id)
    if search is None:
        db.session.rollback()
        return "skipped"
    with acting_as(None, None, "task:network.hub_run_search"):
        chunks = hub.to_chunks(search, shard_results, current_app.config["SEARCH_CHUNK_SIZE"])
        outcome = _hub_compare(search_id, chunks)
        db.session.commit()
    return outcome


def _hub_compare(search_id: int, chunks: list) -> str:
    """Start stage 2 inside the caller's claim (committed by the caller after this)."""
    if not chunks:
        return f"{len(hub.finish_search(search_id, []).candidates)} candidates"
    chord(hub_compare_chunk.s(search_id, chunk) for chunk in chunks)(
        hub_finish_search.s(search_id).on_error(hub_search_failed.si(search_id)))
    return f"{len(chunks)} chunks"


@task("network.hub_compare_chunk")
def hub_compare_chunk(search_id: int, chunk: list) -> list[dict]:
    return hub.compare_chunk(search_id, chunk)


@task("network.hub_finish_search")
def hub_finish_search(chunk_results: list[list[dict]], search_id: int) -> int:
    with acting_as(None, None, "task:network.hub_run_search"):
        search = hub.finish_search(search_id, [c for chunk in chunk_results for c in chunk])
        db.session.commit()
    return len(search.candidates)


@task("network.hub_search_failed", acks_late=False)
def hub_search_failed(search_id: int) -> None:
    hub.fail_search(search_id, "a comparison task failed; see the hub worker's log")
    db.session.commit()


@task("network.hub_index_records", retry_on=(OSError,))
def hub_index_records(record_ids: list[int]) -> int:
    """Append shared records' signatures to the hub's signature index (idempotent)."""
    return hub_index.append(record_ids)


@task("network.hub_expire_leads", acks_late=False)
def hub_expire_leads() -> dict:
    if _role() != "hub":
        return {"skipped": "not the hub"}
    with acting_as(None, None, "task:network.hub_expire_leads"):
        expired = hub.expire_leads()
        db.session.commit()
    return {"expired": expired}


@task("network.hub_sweep", acks_late=False)
def hub_sweep() -> dict:
    """Fail partner searches a vanished hub worker left unfinished (the lab's rule:
    ``comparisons.sweep``), so the requesting lab reads why instead of timing out."""
    if _role() != "hub":
        return {"skipped": "not the hub"}
    with acting_as(None, None, "task:network.hub_sweep"):
        summary = hub.sweep_stuck(current_app.config["HUB_SEARCH_STUCK_AFTER"])
        db.session.commit()
    return summary


@task("network.hub_forget_nonces", acks_late=False)
def hub_forget_nonces() -> dict:
    if _role() != "hub":
        return {"skipped": "not the hub"}
    forgotten = trust.forget_old_nonces()
    db.session.commit()
    return {"forgotten": forgotten}


