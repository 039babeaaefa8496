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

from celery import Celery, bootsteps
from flask import Flask

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
        while not stopping.wait(interval):
            try:
                self.round()
            except Exception:  # the database may be away; try again next round
                log.exception("ledger sealing round failed")


class LedgerSealer(bootsteps.StartStopStep):
    """Worker bootstep: start the sealing thread with the worker, stop it with the worker."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker) -> None:
        flask_app = worker.app.flask_app
        interval = float(flask_app.config["LEDGER_SEAL_SECONDS"])
        if interval <= 0:
            return
        self.thread = threading.Thread(target=SealerLoop(flask_app).run,
                                       args=(interval, self.stopping), name="ledger-sealer",
                                       daemon=True)
        self.thread.start()

    def stop(self, worker) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=15)


def add_worker_sealer(celery: Celery) -> None:
    celery.steps["worker"].add(LedgerSealer)
