"""The hub's partner searches, as robust as a lab's: a search a vanished hub worker left
unfinished is failed by the hub's own sweep (the lab's rule, scheduled only where
APP_ROLE=hub) with its reason, which the requesting lab's poll reads; and each of a search's
chords is started once: a second delivery of ``network.hub_run_search`` or of its callback
sends nothing, and the list and the owners' access events are stored once. Messages are
counted in the hub's real (filesystem) broker queue, where no worker takes them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ballistics.core.context import acting_as
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.network import hub, hub_index
from ballistics.network.models import EventKind, HubEvent, HubSearch, SearchState
from ballistics.network.tasks import HUB_SWEEP_MINUTES
from tests.comparisons.helpers import current_celery, sent
from tests.comparisons.index_refs import random_signatures
from tests.network.test_hub_index import _members, _search, _store


def _run(app, name: str, *args):
    result = app.extensions["celery"].tasks[name].apply(args=list(args))
    db.session.expire_all()
    return result.get()


@pytest.fixture
def hub_ctx(hub_app) -> Iterator:
    with hub_app.app_context(), current_celery(hub_app), acting_as(None, None, "test"):
        yield hub_app
        db.session.remove()


@pytest.fixture
def queued(hub_ctx) -> tuple[int, str]:
    """A queued partner search over 300 shared records (the owner's code returned)."""
    owner, requester = _members(2)
    region = "o" + uuid.uuid4().hex[:8]
    sigs = random_signatures(300, 21)
    records = [_store(owner, i, sigs[i], region) for i in range(300)]
    hub_index.append([r.id for r in records])
    search = _search(requester, region, sigs[0], k=10)
    db.session.commit()
    return search.id, owner


def test_the_hubs_sweep_fails_a_search_left_unfinished_with_its_reason(hub_ctx, pg_app):
    requester = _members(1)[0]
    sig = random_signatures(1, 3)[0]
    long_ago = utcnow() - timedelta(hours=2)
    running, queued, fresh, done = (_search(requester, "s", sig) for _ in range(4))
    running.status, running.started_at, running.created_at = (SearchState.RUNNING, long_ago,
                                                               long_ago)
    queued.created_at = long_ago  # never taken by a worker
    fresh.status, fresh.started_at, fresh.created_at = SearchState.RUNNING, utcnow(), long_ago
    done.status, done.created_at, done.finished_at = SearchState.DONE, long_ago, long_ago
    db.session.commit()
    ids = [s.id for s in (running, queued, fresh, done)]

    summary = _run(hub_ctx, "network.hub_sweep")
    assert summary["hub_searches_failed"] >= 2
    states = {i: db.session.get(HubSearch, i) for i in ids}
    for i in ids[:2]:
        assert states[i].status == SearchState.FAILED
        assert states[i].error.startswith("The search did not finish within 540 s")
        # What the requesting lab's poll reads (node.poll_search): the status and the reason.
        assert hub.get_search(hub.member(requester), i).error == states[i].error
    assert states[ids[2]].status == SearchState.RUNNING  # started a moment ago
    assert states[ids[3]].status == SearchState.DONE
    # Scheduled by beat at the hub, not at a lab node (where the task would do nothing).
    assert "network-hub-sweep" in hub_ctx.extensions["celery"].conf.beat_schedule
    assert "network-hub-sweep" not in pg_app.extensions["celery"].conf.beat_schedule
    with pg_app.app_context():
        assert pg_app.extensions["celery"].tasks["network.hub_sweep"].apply().get() == {
            "skipped": "not the hub"}


def test_the_hub_fails_a_stuck_search_before_the_requesting_lab_stops_waiting(hub_ctx, pg_app):
    """The lab's poll gives up NETWORK_SEARCH_TIMEOUT after its request; the hub fails a stuck
    search at most HUB_SEARCH_STUCK_AFTER plus one sweep period after it started (later than
    the request): the hub's reason must come first, with a minute to spare for the queue."""
    stuck_after = hub_ctx.config["HUB_SEARCH_STUCK_AFTER"]
    assert stuck_after + HUB_SWEEP_MINUTES * 60 + 60 <= pg_app.config["NETWORK_SEARCH_TIMEOUT"]
    schedule = hub_ctx.extensions["celery"].conf.beat_schedule["network-hub-sweep"]["schedule"]
    assert schedule.minute == set(range(0, 60, HUB_SWEEP_MINUTES))


def test_a_second_delivery_of_hub_run_search_sends_no_second_chord(hub_ctx, queued,
                                                                   monkeypatch):
    search_id, _ = queued
    monkeypatch.setitem(hub_ctx.config, "SEARCH_SHARD_SIZE", 100)
    shards = len(hub_index.shard_ranges(db.session.get(HubSearch, search_id), 100))
    assert shards > 1
    assert _run(hub_ctx, "network.hub_run_search", search_id) == f"{shards} shards"
    started = db.session.get(HubSearch, search_id).started_at
    assert started is not None
    assert _run(hub_ctx, "network.hub_run_search", search_id) == "skipped"
    assert sent(hub_ctx, "network.hub_rank_shard", search_id) == shards  # one chord
    search = db.session.get(HubSearch, search_id)
    assert search.status == SearchState.RUNNING and search.started_at == started

    # The shards' callback, delivered twice: stage 1 closes once.
    tops = [{"n": 1, "top": []} for _ in range(shards)]
    assert _run(hub_ctx, "network.hub_start_comparisons", tops, search_id) == "0 candidates"
    search = db.session.get(HubSearch, search_id)
    ranked, finished = search.ranked_at, search.finished_at
    assert _run(hub_ctx, "network.hub_start_comparisons", tops, search_id) == "skipped"
    search = db.session.get(HubSearch, search_id)
    assert (search.status, search.ranked_at, search.finished_at) == (SearchState.DONE, ranked,
                                                                     finished)
    assert search.n_references == shards
    _run(hub_ctx, "network.hub_search_failed", search_id)  # a late error of a duplicate
    assert db.session.get(HubSearch, search_id).status == SearchState.DONE


def test_unsharded_the_search_is_started_once_and_its_comparisons_sent_once(hub_ctx, queued):
    search_id, _ = queued
    outcome = _run(hub_ctx, "network.hub_run_search", search_id)
    assert outcome == "1 chunks"  # k=10 in chunks of SEARCH_CHUNK_SIZE (10)
    search = db.session.get(HubSearch, search_id)
    assert search.status == SearchState.RUNNING
    assert search.started_at is not None and search.ranked_at is not None
    assert _run(hub_ctx, "network.hub_run_search", search_id) == "skipped"
    assert sent(hub_ctx, "network.hub_compare_chunk", search_id) == 1
    assert sent(hub_ctx, "network.hub_rank_shard", search_id) == 0


def test_the_list_and_the_owners_access_event_are_stored_once(hub_ctx, queued):
    search_id, owner = queued
    hub.claim_search(search_id)
    db.session.commit()
    found = [{"record": 1, "owner": owner, "reference": "R1", "calibre": "9mm Luger",
              "score": 0.7, "cmc_count": 4, "signature_similarity": 0.9,
              "likelihood_ratio": None, "lr_note": ""}]
    hub.finish_search(search_id, [dict(c) for c in found])
    db.session.commit()
    hub.finish_search(search_id, [dict(c) for c in found * 2])  # a duplicate chord's callback
    db.session.commit()
    assert len(db.session.get(HubSearch, search_id).candidates) == 1
    events = db.session.scalars(select(HubEvent).where(
        HubEvent.member_code == owner, HubEvent.kind == EventKind.ACCESS)).all()
    assert [e.body["search"] for e in events] == [search_id]
    assert db.session.scalar(select(func.count()).select_from(HubEvent).where(
        HubEvent.member_code == owner)) == 1


def test_migration_0018_keeps_searches_running_before_it_within_the_sweeps_reach(tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from tests.support.services import legacy_sqlite

    with legacy_sqlite(tmp_path, "0017"):
        with db.engine.connect() as conn:
            conn.execute(text(
                "INSERT INTO hub_searches (id, requester_code, request_ref, algorithm_version, "
                "region, calibre, k, signature, status, error, n_references, candidates, "
                "created_at) VALUES (1, 'LABB', 7, 'v', 'breech_face', '', 10, x'00', "
                "'running', '', 0, '[]', '2026-01-05 10:00:00')"))
            conn.commit()
        upgrade(revision="0018")
        search = db.session.get(HubSearch, 1)
        assert (search.started_at, search.ranked_at) == (None, None)
        # Started before the column existed: the sweep counts from when it was queued.
        assert hub.sweep_stuck(3600) == {"hub_searches_failed": 1}
        db.session.commit()
        downgrade(revision="0017")
        assert db.session.execute(text("SELECT status FROM hub_searches")).scalar() == "failed"
