"""Simultaneous add-checkpoint requests from the same old size: exactly one is cosigned, the
others get 409 with the winner's size, and the stored size never goes backwards. On the witness's
default SQLite file and on PostgreSQL (its database given by URL)."""

from __future__ import annotations

import threading

import pytest

from ballistics.ledger import notes
from ballistics.ledger.tlog_witness import AddCheckpointRequest
from ballistics.witness import store
from ballistics.witness.service import Witness, WitnessError
from tests.ledger.helpers import ORIGIN, ToyLog
from tests.support.services import create_pg_database, drop_pg_database

THREADS = 6
ROUNDS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'witness.sqlite'}"
        return
    url = create_pg_database("witness_test")
    yield url
    drop_pg_database(url)


def test_racing_requests_have_one_winner_per_round(db_url, tmp_path):
    log = ToyLog()
    log.grow(1 + ROUNDS * THREADS)
    sessions = store.open_database(db_url)
    witness = Witness(sessions, notes.CosignatureSigner(store.create_key(tmp_path / "k", "w/1")))
    witness.add_log(ORIGIN, log.vkey)
    old = 0
    for _ in range(ROUNDS):
        sizes = [old + 1 + t for t in range(THREADS)]
        bodies = [AddCheckpointRequest(old, tuple(log.proof(old, s)), log.checkpoint(s)).encode()
                  for s in sizes]
        results: list[tuple[int, int, int | None]] = []
        barrier = threading.Barrier(THREADS)

        def submit(size: int, body: bytes) -> None:
            barrier.wait()
            try:
                witness.add_checkpoint(body)
                results.append((size, 200, None))
            except WitnessError as exc:
                results.append((size, exc.status, exc.known_size))

        threads = [threading.Thread(target=submit, args=(s, b)) for s, b in zip(sizes, bodies,
                                                                                  strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        winners = [size for size, status, _ in results if status == 200]
        assert len(results) == THREADS and len(winners) == 1, results
        losers = [(status, known) for _, status, known in results if status != 200]
        assert all(status == 409 and known == winners[0] for status, known in losers), results
        assert witness.logs()[0].size == winners[0]
        old = winners[0]
    assert [s for s, _, _ in witness.history(ORIGIN)] == sorted(
        s for s, _, _ in witness.history(ORIGIN))
