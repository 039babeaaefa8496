"""The periodic relay inside every worker process: a thread in the worker's main process sends
what is pending every ``OUTBOX_RELAY_SECONDS``. It needs no broker to be triggered (celery beat
would), so work written while the broker was down leaves as soon as the broker is back."""

from __future__ import annotations

import logging
import threading

from celery import Celery, bootsteps

log = logging.getLogger(__name__)


class OutboxRelay(bootsteps.StartStopStep):
    """Worker bootstep: start the relay thread with the worker, stop it with the worker."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker) -> None:
        flask_app = worker.app.flask_app
        interval = float(flask_app.config["OUTBOX_RELAY_SECONDS"])
        if interval <= 0:
            return
        self.thread = threading.Thread(target=self._loop, args=(flask_app, interval),
                                       name="outbox-relay", daemon=True)
        self.thread.start()

    def stop(self, worker) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def _loop(self, flask_app, interval: float) -> None:
        from ballistics.extensions import db
        from ballistics.outbox.services import relay

        while not self.stopping.wait(interval):
            with flask_app.app_context():
                try:
                    while relay()[0] >= 200:  # a full batch: more may be waiting
                        pass
                except Exception:  # the database may be away too; try again next round
                    log.exception("outbox relay round failed")
                finally:
                    db.session.remove()


def add_worker_relay(celery: Celery) -> None:
    celery.steps["worker"].add(OutboxRelay)
