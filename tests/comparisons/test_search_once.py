"""A search's chords are started once: a second delivery of ``comparisons.run_search`` (an
acks_late redelivery after the first sent the stage-1 chord, the outbox relaying twice) sends
nothing and changes nothing, and a duplicate callback stores nothing twice; a delivery whose
predecessor died before sending still sends. The messages are counted in the real (filesystem)
broker's queue, where no worker takes them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from ballistics.comparisons import searches, signature_index
from ballistics.comparisons.models import Candidate, Scan, Search, SearchStatus
from ballistics.core.context import acting_as
from ballistics.extensions import db
from tests.comparisons.helpers import current_celery, sent
from tests.comparisons.index_refs import add_references, random_signatures


@pytest.fixture
def queued(app, lab, monkeypatch) -> Iterator[tuple[int, int]]:
    """A queued search over 300 indexed references, and how many stage-1 shards it has."""
    monkeypatch.setitem(app.config, "SEARCH_SHARD_SIZE", 100)
    ids = add_references(lab, random_signatures(300, 11))
    signature_index.append(ids)
    with acting_as(lab.id("examiner"), lab.lab.id, "test"):
        search = searches.start_search(lab.users["examiner"], db.session.get(Scan, ids[0]),
                                       k=10)
        db.session.commit()
    shards = len(signature_index.shard_ranges(search.algorithm_version, 100))
    assert shards > 1
    with current_celery(app):
        yield search.id, shards


def _run(app, name: str, *args):
    result = app.extensions["celery"].tasks[name].apply(args=list(args))
    db.session.expire_all()
    return result.get()


def test_a_second_delivery_of_run_search_sends_no_second_chord(app, queued):
    search_id, shards = queued
    assert _run(app, "comparisons.run_search", search_id) == f"{shards} shards"
    started = db.session.get(Search, search_id).started_at
    assert _run(app, "comparisons.run_search", search_id) == "skipped"
    assert sent(app, "comparisons.rank_shard", search_id) == shards  # one chord, not two
    search = db.session.get(Search, search_id)
    assert search.status == SearchStatus.RANKING and search.started_at == started


def test_a_duplicate_callback_starts_stage_2_once_and_stores_the_list_once(app, queued):
    search_id, shards = queued
    _run(app, "comparisons.run_search", search_id)
    search = db.session.get(Search, search_id)
    tops = [{"n": 1, "top": []} for _ in range(shards)]  # no reference close enough here
    assert _run(app, "comparisons.start_comparisons", tops, search_id) == "no references"
    finished = db.session.get(Search, search_id).finished_at
    assert _run(app, "comparisons.start_comparisons", tops, search_id) == "skipped"
    search = db.session.get(Search, search_id)
    assert search.status == SearchStatus.DONE and search.finished_at == finished
    assert search.n_references == shards
    # A late error of a duplicate does not turn the done search into a failed one.
    _run(app, "comparisons.search_failed", search_id)
    assert db.session.get(Search, search_id).status == SearchStatus.DONE


def test_finish_stores_the_candidates_once(app, queued):
    search_id, _ = queued
    search = db.session.get(Search, search_id)
    searches.start(search)
    searches.to_chunks(search, [], 10)
    row = {"reference_scan_id": search.query_scan_id, "signature_similarity": 0.9,
           "score": 0.8, "cmc_count": 3, "cmc_count_reverse": 2, "pairwise_ccf": 0.5,
           "likelihood_ratio": None, "lr_note": "", "rotation_deg": 0.0,
           "translation_px": [0, 0], "cells": []}
    searches.finish(search_id, [row])
    searches.finish(search_id, [row])
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Candidate).where(
        Candidate.search_id == search_id)) == 1


def test_a_delivery_whose_predecessor_died_before_sending_sends(app, queued):
    search_id, shards = queued
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # The predecessor claimed the search on its own connection and died before sending
        # (and committing): PostgreSQL rolls its claim back when the connection goes.
        engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        conn = engine.connect()
        conn.execute(text("SELECT id FROM searches WHERE id = :id FOR UPDATE"),
                     {"id": search_id})
        conn.execute(text("UPDATE searches SET status = 'ranking' WHERE id = :id"),
                     {"id": search_id})
        conn.invalidate()  # the connection is dropped, as a killed worker's is
        engine.dispose()
    assert _run(app, "comparisons.run_search", search_id) == f"{shards} shards"
    assert sent(app, "comparisons.rank_shard", search_id) == shards
    assert db.session.get(Search, search_id).status == SearchStatus.RANKING
