"""The hub's sharded stage 1 with real worker processes on a real broker (RabbitMQ): a hub
worker killed (SIGKILL) while it holds a shard of a partner search does not stop the search:
the broker hands the shard to another worker, and the list is the one a single scan gives. A
search delivered twice to the workers runs one chord of shards and stores one list."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert, select

from ballistics import imaging
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.imaging import synthetic
from ballistics.network import hub_index
from ballistics.network.models import EventKind, HubEvent, HubFeatureBlob, HubRecord, HubSearch
from ballistics.outbox.services import enqueue
from tests.comparisons.helpers import wait_for
from tests.support.services import broker_app
from tests.workerproc import search_steps, stop, worker_process

pytestmark = pytest.mark.broker


def _records(n: int, region: str) -> HubSearch:
    """n shared records over a pool of three real feature sets (two firings of one firearm,
    one of another), shared with everyone; return the partner search of the first firing."""
    pool = [imaging.extract_features(synthetic.fire(synthetic.make_firearm(g), s))
            for g, s in [(0, 0), (0, 1), (1, 0)]]
    tag = uuid.uuid4().hex[:8]
    shas = [f"hub-kill-{tag}-{i}".ljust(64, "0") for i in range(3)]
    for sha, feats in zip(shas, pool, strict=True):
        db.session.add(HubFeatureBlob(sha256=sha, data=imaging.features_to_bytes(feats)))
    db.session.flush()
    db.session.execute(insert(HubRecord), [
        {"owner_code": f"O{tag}", "record_id": i, "reference": f"R{i}", "version": 1,
         "algorithm_version": imaging.ALGORITHM_VERSION, "region": region,
         "calibre": "9mm Luger", "shared_with": ["*"], "scanned_at": utcnow(),
         "signature": pool[1 + i % 2].signature.tobytes(), "features_sha256": shas[1 + i % 2]}
        for i in range(n)])
    search = HubSearch(requester_code="LABB", request_ref=int(uuid.uuid4().int % 10**9),
                       algorithm_version=imaging.ALGORITHM_VERSION, region=region,
                       calibre="9mm Luger", k=5, signature=pool[0].signature.tobytes(),
                       features=imaging.features_to_bytes(pool[0]))
    db.session.add(search)
    db.session.commit()
    return search


def _log_has(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text(errors="replace")


def _status(search_id: int) -> HubSearch:
    db.session.expire_all()
    return db.session.get(HubSearch, search_id)


def test_a_hub_worker_killed_during_a_sharded_stage_1_does_not_stop_the_search(
        pg_url, tmp_path, monkeypatch):
    # RabbitMQ hands a dead consumer's unacknowledged message to another at once.
    app = broker_app(pg_url, tmp_path, "amqp://guest:guest@127.0.0.1:5672//", APP_ROLE="hub",
                     SEARCH_SHARD_SIZE=100)
    monkeypatch.setenv("SHARD_PAUSE", "120")
    with app.app_context():
        region = "k" + uuid.uuid4().hex[:8]  # this test's records only
        search = _records(600, region)
        search_id = search.id
        assert hub_index.rebuild() >= 600  # as `flask network reindex` does
        assert len(hub_index.shard_ranges(search, 100)) >= 6
        doomed_log = Path(app.config["INSTANCE_PATH"]) / "worker-doomed.log"
        with worker_process(app, name="doomed", module="tests.comparisons.slow_shard_worker",
                            log=doomed_log) as doomed:
            enqueue("network.hub_run_search", search_id)  # as submit_search does
            db.session.commit()
            # The doomed worker splits stage 1 into shards and starts holding one.
            wait_for(lambda: _log_has(doomed_log, "network.hub_rank_shard["), bool,
                     timeout=120, interval=0.2)
            rescuer_log = Path(app.config["INSTANCE_PATH"]) / "worker-rescuer.log"
            with worker_process(app, name="rescuer", concurrency=2, log=rescuer_log):
                time.sleep(3)  # the rescuer takes the other shards meanwhile
                stop(doomed, sig=signal.SIGKILL)
                final = wait_for(lambda: _status(search_id),
                                 lambda s: s.status.value in ("done", "failed"), timeout=600)
        assert final.status.value == "done", final.error
        log = doomed_log.read_text(errors="replace")
        assert "network.hub_rank_shard[" in log  # it held a shard when it was killed
        assert not any("hub_rank_shard" in line and "succeeded" in line
                       for line in log.splitlines())  # it never finished a shard
        # Both workers mapped and checked the hub's files before their pools forked.
        for path in (doomed_log, rescuer_log):
            assert "hub signature index: 600 rows mapped and checked" in path.read_text()
        assert final.n_references == 600 and len(final.candidates) == 5
        exact = hub_index.rank_from_database(final)
        assert np.allclose(sorted(c["signature_similarity"] for c in final.candidates),
                           sorted(s for _, s in exact), atol=1e-5)
        assert {c["record"] for c in final.candidates} <= {r.id for r in db.session.query(
            HubRecord).filter(HubRecord.region == region, HubRecord.record_id % 2 == 0)}
        db.session.remove()


def test_a_hub_search_delivered_twice_runs_one_chord_and_stores_one_list(pg_url, tmp_path):
    app = broker_app(pg_url, tmp_path, "amqp://guest:guest@127.0.0.1:5672//", APP_ROLE="hub",
                     SEARCH_SHARD_SIZE=100)
    with app.app_context():
        region = "d" + uuid.uuid4().hex[:8]  # this test's records only
        search = _records(300, region)
        search_id = search.id
        assert hub_index.rebuild() >= 300
        shards = len(hub_index.shard_ranges(search, 100))
        assert shards >= 3
        log = Path(app.config["INSTANCE_PATH"]) / "worker-twice.log"
        # Two messages for one search (the outbox relayed twice, or a redelivery), taken at
        # once by two processes of one worker.
        enqueue("network.hub_run_search", search_id)
        enqueue("network.hub_run_search", search_id)
        db.session.commit()
        with worker_process(app, name="twice", concurrency=2, log=log):
            final = wait_for(lambda: _status(search_id),
                             lambda s: s.status.value in ("done", "failed"), timeout=600)
            # One delivery ran the search, its twin found it claimed; one chord of shards.
            steps = search_steps(log, "network.hub_")
        assert final.status.value == "done", final.error
        assert steps == (2, 1, shards, 1, 1)
        assert final.n_references == 300 and len(final.candidates) == 5
        exact = hub_index.rank_from_database(final)
        assert np.allclose(sorted(c["signature_similarity"] for c in final.candidates),
                           sorted(s for _, s in exact), atol=1e-5)
        owner = db.session.scalar(select(HubRecord.owner_code).where(
            HubRecord.region == region).limit(1))
        events = db.session.scalars(select(HubEvent).where(
            HubEvent.member_code == owner, HubEvent.kind == EventKind.ACCESS)).all()
        assert [e.body["search"] for e in events].count(search_id) == 1
        db.session.remove()
