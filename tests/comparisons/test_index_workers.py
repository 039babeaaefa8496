"""The signature index with real worker processes on a real broker: a reference uploaded while a
worker runs is appended to the shared files by the worker and found by the next search; once
its case is closed it is never returned again; a worker killed (SIGKILL) while it holds a
stage-1 shard does not stop the search: the broker hands the shard to another worker; a search
delivered twice runs one chord of shards and stores one list."""

from __future__ import annotations

import re
import signal
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, insert, select, update

from ballistics import imaging
from ballistics.comparisons import searches, signature_index
from ballistics.comparisons.models import Candidate, FeatureSet, Scan, ScanStatus, Search
from ballistics.core.context import acting_as
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from ballistics.imaging import synthetic
from ballistics.outbox.services import enqueue
from tests.comparisons.helpers import upload, wait_for, x3p_bytes
from tests.support.labs import make_lab
from tests.support.services import broker_app
from tests.support.web import Api
from tests.workerproc import search_steps, stop, worker_process

pytestmark = pytest.mark.broker


def _indexed() -> set[int]:
    return {int(i) for s in signature_index.segments() for i in s.ids}


def test_a_reference_uploaded_while_the_worker_runs_is_found_then_never_after_closing(
        pg_url, tmp_path):
    app = broker_app(pg_url, tmp_path, "redis://127.0.0.1:6379/0")
    with app.app_context():
        kit = make_lab()
        client = app.test_client()
        tech, examiner = Api(client, kit, "tech"), Api(client, kit, "examiner")

        def scan(gun: int, shot: int) -> dict:
            item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
            response = upload(client, kit.headers("examiner"), item["id"], x3p_bytes(gun, shot))
            assert response.status_code == 201, response.get_json()
            return response.get_json()

        def search(scan_id: int) -> dict:
            started = examiner.post(f"/scans/{scan_id}/searches", {"k": 10}, expect=202)
            return wait_for(lambda: examiner.get(f"/searches/{started['id']}"),
                            lambda v: v["status"] in ("done", "failed"))

        with worker_process(app, name="indexer"):
            query, stranger = scan(0, 0), scan(3, 0)
            for s in (query, stranger):
                wait_for(lambda s=s: tech.get(f"/scans/{s['id']}"),
                         lambda v: v["status"] == "done")
            first = search(query["id"])
            assert first["status"] == "done", first
            assert [c["reference_scan_id"] for c in first["candidates"]] == [stranger["id"]]
            # While the worker runs, a mate of the query is uploaded: the worker extracts its
            # features and appends its signature to the shared files (no search needed).
            mate = scan(0, 1)
            wait_for(lambda: mate["id"] in _indexed(), bool, timeout=120, interval=0.2)
            second = search(query["id"])
            ranked = [c["reference_scan_id"] for c in second["candidates"]]
            assert ranked == [mate["id"], stranger["id"]], second
            # The mate's case is closed: the next search never returns it, although its row
            # stays in the files.
            db.session.execute(update(Scan).where(Scan.id == mate["id"])
                               .values(is_open_case=False))
            db.session.commit()
            third = search(query["id"])
            assert [c["reference_scan_id"] for c in third["candidates"]] == [stranger["id"]]
            assert mate["id"] in _indexed()
        db.session.remove()


def _pool(tag: str) -> list[tuple[str, imaging.Features]]:
    """Three real feature sets (two firings of one firearm, one of another), their keys tagged
    (a test's own, on a database other tests use too)."""
    return [(f"idx-kill-{tag}-{g}-{s}".ljust(64, "0"),
             imaging.extract_features(synthetic.fire(synthetic.make_firearm(g), s)))
            for g, s in [(0, 0), (0, 1), (1, 0)]]


def _bulk(kit, n: int) -> int:
    """n reference scans over a pool of three real feature sets; return the query's id."""
    user = kit.users["examiner"]
    tag = uuid.uuid4().hex[:8]
    for sha, feats in _pool(tag):
        db.session.add(FeatureSet(sha256=sha, algorithm_version=imaging.ALGORITHM_VERSION,
                                  signature=feats.signature.tobytes(),
                                  data=imaging.features_to_bytes(feats)))
    shas = [f"idx-kill-{tag}-{g}-{s}".ljust(64, "0") for g, s in [(0, 0), (0, 1), (1, 0)]]
    case = Case(lab_id=kit.lab.id, year=2026, seq=7, lab_case_number=f"K-{uuid.uuid4().hex[:8]}",
                submitting_agency="test", created_by_id=user.id)
    db.session.add(case)
    db.session.flush()
    items = db.session.execute(insert(Item).returning(Item.id, sort_by_parameter_order=True), [
        {"lab_id": kit.lab.id, "case_id": case.id, "number": str(i),
         "barcode": f"{case.lab_case_number}/{i}", "kind": "cartridge_case",
         "calibre": "9mm Luger"} for i in range(n + 1)]).scalars().all()
    ids = db.session.execute(insert(Scan).returning(Scan.id, sort_by_parameter_order=True), [
        {"lab_id": kit.lab.id, "item_id": item_id, "filename": "k.x3p", "file_format": "x3p",
         "sha256": shas[0] if i == 0 else shas[1 + i % 2], "size_bytes": 1, "width": 10,
         "height": 10, "pixel_um": 6.25, "region": "breech_face", "calibre": "9mm Luger",
         "status": ScanStatus.DONE.value, "uploaded_by_id": user.id}
        for i, item_id in enumerate(items)]).scalars().all()
    db.session.commit()
    return ids[0]


def _log_has(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text(errors="replace")


def test_a_worker_killed_during_a_sharded_stage_1_does_not_stop_the_search(
        pg_url, tmp_path, monkeypatch):
    # RabbitMQ hands a dead consumer's unacknowledged message to another at once.
    app = broker_app(pg_url, tmp_path, "amqp://guest:guest@127.0.0.1:5672//", SEARCH_SHARD_SIZE=100)
    monkeypatch.setenv("SHARD_PAUSE", "120")
    with app.app_context():
        kit = make_lab()
        query_id = _bulk(kit, 600)
        signature_index.rebuild()
        doomed_log = Path(app.config["INSTANCE_PATH"]) / "worker-doomed.log"
        with worker_process(app, name="doomed", module="tests.comparisons.slow_shard_worker",
                            log=doomed_log) as doomed:
            with acting_as(kit.id("examiner"), kit.lab.id, "test"):
                search = searches.start_search(kit.users["examiner"],
                                               db.session.get(Scan, query_id), k=5)
                db.session.commit()
                search_id = search.id
            # The doomed worker splits stage 1 into shards and starts holding one.
            wait_for(lambda: _log_has(doomed_log, "comparisons.rank_shard["), bool,
                     timeout=120, interval=0.2)
            with worker_process(app, name="rescuer", concurrency=2):
                time.sleep(3)  # the rescuer takes the other shards meanwhile
                stop(doomed, sig=signal.SIGKILL)
                # generous: the rescuer's start and stage 2 are slow on a loaded machine
                final = wait_for(lambda: _status(search_id),
                                 lambda s: s.status in ("done", "failed"), timeout=600)
        assert final.status == "done", final.error
        log = doomed_log.read_text(errors="replace")
        assert "comparisons.rank_shard[" in log  # it held a shard when it was killed
        # It mapped and checked the index before its pool forked (the children inherit it).
        assert re.search(r"\] signature index: \d+ rows mapped and checked in", log)
        assert not any("rank_shard" in line and "succeeded" in line
                       for line in log.splitlines())  # it never finished a shard
        assert len(final.candidates) == 5
        exact = searches.rank_from_database(final)
        assert np.allclose(sorted(c.signature_similarity for c in final.candidates),
                           sorted(s for _, s in exact), atol=1e-5)
        assert final.n_references == 600
        db.session.remove()


def _status(search_id: int) -> Search:
    db.session.expire_all()
    return db.session.get(Search, search_id)


def test_a_search_delivered_twice_runs_one_chord_and_stores_one_list(pg_url, tmp_path):
    app = broker_app(pg_url, tmp_path, "amqp://guest:guest@127.0.0.1:5672//", SEARCH_SHARD_SIZE=100)
    with app.app_context():
        kit = make_lab()
        query_id = _bulk(kit, 300)
        signature_index.rebuild()
        log = Path(app.config["INSTANCE_PATH"]) / "worker-twice.log"
        with acting_as(kit.id("examiner"), kit.lab.id, "test"):
            search = searches.start_search(kit.users["examiner"], db.session.get(Scan, query_id),
                                           k=5)
            # A second message for the same search (the outbox relayed twice, a redelivery).
            enqueue("comparisons.run_search", search.id)
            db.session.commit()
            search_id = search.id
        shards = len(signature_index.shard_ranges(search.algorithm_version, 100))
        assert shards >= 3
        with worker_process(app, name="twice", concurrency=2, log=log):
            final = wait_for(lambda: _status(search_id),
                             lambda s: s.status in ("done", "failed"), timeout=600)
            # One delivery ran the search, its twin found it claimed; one chord of shards.
            steps = search_steps(log, "comparisons.")
        assert final.status == "done", final.error
        assert steps == (2, 1, shards, 1, 1)
        assert db.session.scalar(select(func.count()).select_from(Candidate).where(
            Candidate.search_id == search_id)) == 5
        exact = searches.rank_from_database(final)
        assert np.allclose(sorted(c.signature_similarity for c in final.candidates),
                           sorted(s for _, s in exact), atol=1e-5)
        db.session.remove()
