"""The loop beside a worker's pool (outbox relay, ledger sealer): a failed round is logged and
the next one runs, and setting the stop ends it."""

from __future__ import annotations

import logging
import threading

from ballistics.core.worker_loop import repeat


def test_a_failed_round_is_logged_and_the_next_one_runs(caplog):
    stopping, rounds = threading.Event(), []

    def one_round() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the database is away")
        if len(rounds) == 3:
            stopping.set()

    with caplog.at_level(logging.ERROR, logger="ballistics.core.worker_loop"):
        repeat(one_round, 0.001, stopping, "test loop")
    assert rounds == [0, 1, 2]
    assert "test loop: a round failed" in caplog.text and "the database is away" in caplog.text


def test_a_loop_stopped_before_its_first_round_runs_none():
    stopping, rounds = threading.Event(), []
    stopping.set()
    repeat(lambda: rounds.append(1), 0.001, stopping, "x")
    assert rounds == []
