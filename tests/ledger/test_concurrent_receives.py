"""Acceptance (issue 10): 50 concurrent receives on PostgreSQL over real HTTP, with the sealer
as production runs it (a thread in a Celery worker process) and the shipped witness as a
process of its own: every row is sealed within seconds, positions are gap-free, every item's
chain and the lab's log verify, and a witnessed checkpoint covers the whole log."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid

import pytest
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.core.context import acting_as
from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.evidence.services import create_case
from ballistics.extensions import db
from ballistics.ledger import labkeys
from ballistics.ledger.models import LedgerLeaf, LedgerLog
from ballistics.ledger.sealer import ensure_log
from ballistics.ledger.verify import verify_lab
from tests.ledger.support import WitnessProcess, witness_cli
from tests.support.labs import make_lab
from tests.support.services import migrated_app, serve
from tests.workerproc import worker_process

pytestmark = [pytest.mark.postgres, pytest.mark.broker]
RECEIVES = 50
SEALED_WITHIN = 10.0  # seconds after the last answer; the sealer runs every 0.5 s


def _counts(lab_id: int) -> tuple[int, int]:
    db.session.rollback()
    rows = (db.session.scalar(select(func.count()).select_from(CustodyEvent)
                              .where(CustodyEvent.lab_id == lab_id))
            + db.session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.chain_key == lab_id)))
    leaves = db.session.scalar(select(func.count()).select_from(LedgerLeaf)
                               .where(LedgerLeaf.lab_id == lab_id))
    return rows, leaves


def _wait(what: str, check, timeout: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - started


def test_fifty_concurrent_receives_are_sealed_gap_free_and_verify(pg_url, tmp_path):
    key = tmp_path / "witness.key"
    vkey = witness_cli("init-key", "--key", str(key), "--name", "witness.test/proc").strip()
    wdb = f"sqlite:///{tmp_path / 'witness.sqlite'}"
    witness = WitnessProcess(wdb, key, tmp_path / "witness.log")
    app = migrated_app(pg_url, tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
                       CELERY_RESULT_BACKEND="redis://127.0.0.1:6379/1",
                       CELERY_TASK_DEFAULT_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
                       COMPARISON_AUTO_SEARCH=False, LEDGER_WITNESSES=f"{witness.url} {vkey}",
                       LEDGER_SEAL_SECONDS=0.5, LEDGER_CHECKPOINT_SECONDS=1)
    with app.app_context():
        kit = make_lab()
        lab_id, token = kit.lab.id, kit.tokens["tech"]
        ensure_log(lab_id)
        origin = db.session.get(LedgerLog, lab_id).origin
        witness_cli("add-log", "--db", wdb, origin,
                    labkeys.keyring(kit.lab.code, origin).signer().verifier().vkey())
        tech = kit.users["tech"]
        with acting_as(tech.id, lab_id, "test"):
            cases = [create_case(tech, submitting_agency="Central Police").id for _ in range(5)]
        db.session.commit()
        witness.start()
        try:
            with worker_process(app, name="sealer"), serve(app) as base:
                # The worker is up once it has sealed what exists already.
                _wait("the worker's first sealing run", lambda: _counts(lab_id)[1] > 0, 90)
                barrier = threading.Barrier(RECEIVES)
                answers: list[tuple[int, dict]] = [None] * RECEIVES

                def receive(i: int) -> None:
                    body = json.dumps({"kind": "cartridge_case",
                                       "from_agency": "Central Police"}).encode()
                    req = urllib.request.Request(
                        f"{base}/api/v1/cases/{cases[i % len(cases)]}/items", data=body,
                        method="POST", headers={"Authorization": f"Bearer {token}",
                                                "Content-Type": "application/json"})
                    barrier.wait()
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        answers[i] = (resp.status, json.loads(resp.read()))

                threads = [threading.Thread(target=receive, args=(i,)) for i in range(RECEIVES)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                assert [status for status, _ in answers] == [201] * RECEIVES
                took = _wait("sealing every row",
                             lambda: (lambda r, s: r == s)(*_counts(lab_id)), SEALED_WITHIN)
                print(f"all rows sealed {took:.2f} s after the last of {RECEIVES} receives")

                rows, leaves = _counts(lab_id)
                positions = db.session.scalars(select(LedgerLeaf.position).where(
                    LedgerLeaf.lab_id == lab_id).order_by(LedgerLeaf.position)).all()
                assert positions == list(range(rows)) and leaves == rows
                numbers = {(a["case_id"], a["number"]) for _, a in answers}
                assert len(numbers) == RECEIVES  # no item number given twice
                for _, answer in answers:
                    result = verify_chain(db.session, db.session.get(Item, answer["id"]))
                    assert result.ok and result.events == 1, result

                def covered() -> bool:
                    db.session.rollback()
                    result = verify_lab(lab_id)
                    return result.ok and result.last_consistent == result.size >= rows
                _wait("a witnessed checkpoint of the whole log", covered, 30)
        finally:
            witness.stop()
        db.session.remove()
