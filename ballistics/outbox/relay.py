"""The periodic relay inside every worker process: a thread in the worker's main process sends
what is pending every ``OUTBOX_RELAY_SECONDS``. It needs no broker to be triggered (celery beat
would), so work written while the broker was down leaves as soon as the broker is back."""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from flask import Flask

from ballistics.core.worker_loop import WorkerLoop


class OutboxRelay(WorkerLoop):
    setting, thread_name = "OUTBOX_RELAY_SECONDS", "outbox-relay"

    def one_round(self, flask_app: Flask) -> Callable[[], None]:
        from ballistics.extensions import db
        from ballistics.outbox.services import relay

        def send_pending() -> None:
            with flask_app.app_context():
                try:
                    while relay()[0] >= 200:  # a full batch: more may be waiting
                        pass
                finally:
                    db.session.remove()
        return send_pending


def add_worker_relay(celery: Celery) -> None:
    celery.steps["worker"].add(OutboxRelay)
