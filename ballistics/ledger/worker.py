"""The sealer inside every worker process: a thread in the worker's main process seals every
lab's new rows every ``LEDGER_SEAL_SECONDS``, signs a checkpoint when one is due and sends it to
the witnesses. It costs the write path nothing (writers only insert their rows) and needs no
broker; with several workers, the lab's lock makes exactly one of them seal a lab at a time.

``flask ledger seal --watch`` runs the same loop as a process of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from celery import Celery
from flask import Flask

from ballistics.core.worker_loop import WorkerLoop, repeat

log = logging.getLogger(__name__)


class SealerLoop:
    """One round seals every lab, then checkpoints and witnesses what is due."""

    def __init__(self, flask_app: Flask) -> None:
        self.app = flask_app
        self._next_checkpoint: dict[int, float] = {}

    def round(self) -> int:
        """Seal every lab once (a backlog in several runs); return the leaves sealed."""
        from sqlalchemy import select

        from ballistics.auth.models import Lab
        from ballistics.extensions import db
        from ballistics.ledger import checkpointing
        from ballistics.ledger.sealer import seal_lab

        sealed = 0
        with self.app.app_context():
            try:
                lab_ids = list(db.session.scalars(select(Lab.id).order_by(Lab.id)))
                db.session.rollback()
                for lab_id in lab_ids:
                    try:  # one lab's trouble (its key file, say) must not stop the others
                        sealed += self._lab(lab_id, seal_lab, checkpointing.periodic)
                    except Exception:
                        log.exception("ledger: sealing lab %s failed", lab_id)
            finally:
                db.session.remove()
        return sealed

    def _lab(self, lab_id: int, seal_lab, periodic) -> int:
        sealed = 0
        while True:
            result = seal_lab(lab_id)
            sealed += result.sealed
            if not result.more or result.skipped:
                break
        if time.monotonic() >= self._next_checkpoint.get(lab_id, 0):
            self._next_checkpoint[lab_id] = time.monotonic() + min(
                5.0, self.app.config["LEDGER_CHECKPOINT_SECONDS"])
            periodic(lab_id)
        return sealed

    def run(self, interval: float, stopping: threading.Event) -> None:
        repeat(self.round, interval, stopping, "ledger sealing")


class LedgerSealer(WorkerLoop):
    setting, thread_name, join_seconds = "LEDGER_SEAL_SECONDS", "ledger-sealer", 15

    def one_round(self, flask_app: Flask) -> Callable[[], int]:
        return SealerLoop(flask_app).round


def add_worker_sealer(celery: Celery) -> None:
    celery.steps["worker"].add(LedgerSealer)
