"""Work a Celery worker does every few seconds without a message asking for it, in a thread of
its main process beside the pool: the outbox relay sends what the broker could not take when
it was written, the ledger's sealer seals what writers committed. Neither may wait for a
broker, so neither is a beat task (beat sends through the broker).

A domain subclasses :class:`WorkerLoop` (the setting with its interval, one round) and adds it
to the worker with ``celery.steps["worker"].add(...)``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from celery import bootsteps
from flask import Flask

log = logging.getLogger(__name__)


def repeat(one_round: Callable[[], object], interval: float, stopping: threading.Event,
           what: str) -> None:
    """``one_round()`` every ``interval`` seconds until ``stopping`` is set. A failed round is
    logged and the next one tried: the database or the broker may be away for a while."""
    while not stopping.wait(interval):
        try:
            one_round()
        except Exception:
            log.exception("%s: a round failed", what)


class WorkerLoop(bootsteps.StartStopStep):
    """Worker bootstep: a thread that runs :meth:`one_round` every ``setting`` seconds (none if
    the setting is 0), started and stopped with the worker."""

    requires = {"celery.worker.components:Pool"}
    #: the Flask setting holding the seconds between rounds
    setting: str
    #: the thread's name, also what the log calls the loop
    thread_name: str
    #: how long stopping waits for a round under way to end
    join_seconds: float = 10

    def __init__(self, worker, **kwargs) -> None:
        super().__init__(worker, **kwargs)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def one_round(self, flask_app: Flask) -> Callable[[], object]:
        """What one round does, for this Flask app."""
        raise NotImplementedError

    def start(self, worker) -> None:
        flask_app = worker.app.flask_app
        interval = float(flask_app.config[self.setting])
        if interval <= 0:
            return
        self.thread = threading.Thread(
            target=repeat, args=(self.one_round(flask_app), interval, self.stopping,
                                 self.thread_name), name=self.thread_name, daemon=True)
        self.thread.start()

    def stop(self, worker) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=self.join_seconds)
