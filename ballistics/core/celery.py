"""Celery as a Flask extension (as Superset and Indico do): one Celery app per Flask app, every
task run inside the Flask app context, tasks found in the domains' ``tasks`` modules.

Tasks take ids, never objects, and use the JSON serialiser; they are thin (load, call a domain
service, commit) and set who acts so the audit log names the task. A task that gives up (its
retries spent, or an error that is not retried) calls its ``on_give_up`` hook, so the record it
works on is marked FAILED with a reason a person can read instead of staying RUNNING.

The worker entry module (``workers/worker.py``) only calls ``create_app()``; nothing here
imports ``workers``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

from celery import Celery, Task, shared_task
from celery.signals import worker_process_init
from flask import Flask
from sqlalchemy import text

from ballistics.extensions import db

log = logging.getLogger(__name__)


class FlaskTask(Task):
    """Runs in the Flask app context and removes the database session afterwards."""

    flask_app: Flask
    #: ``on_give_up(exc, *args, **kwargs)``: record why the task's work failed for good
    on_give_up: Callable | None = None
    #: transient errors (a database or file store away for a moment): retried with back-off,
    #: ``TASK_MAX_RETRIES`` times, ``TASK_RETRY_DELAY`` * 2^n seconds apart
    retry_on: tuple[type[BaseException], ...] = ()

    def __call__(self, *args, **kwargs):
        with self.flask_app.app_context():
            try:
                return self.run(*args, **kwargs)
            except self.retry_on as exc:
                db.session.rollback()
                config = self.flask_app.config
                delay = min(config["TASK_RETRY_DELAY"] * 2 ** self.request.retries, 300)
                # Past the last retry this raises ``exc`` itself: the task fails, on_give_up.
                raise self.retry(exc=exc, countdown=delay,
                                 max_retries=config["TASK_MAX_RETRIES"]) from exc
            finally:
                db.session.remove()

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        hook = type(self).on_give_up
        if hook is None:
            return
        with self.flask_app.app_context():
            try:
                hook(exc, *args, **kwargs)
                db.session.commit()
            except Exception:  # the failure itself is already logged by Celery
                db.session.rollback()
                log.exception("task %s: recording the failure failed", self.name)
            finally:
                db.session.remove()


def task(name: str, *, on_give_up: Callable | None = None,
         retry_on: tuple[type[BaseException], ...] = (), **options) -> Callable:
    """Declare a task of a domain: ``@task("comparisons.extract_features", on_give_up=...)``.

    Acknowledged late and rejected on a lost worker by default (the broker hands the task to
    another worker, so a killed worker loses nothing).
    """
    options.setdefault("acks_late", True)
    if on_give_up is not None:
        options["on_give_up"] = staticmethod(on_give_up)
    return shared_task(name=name, retry_on=retry_on, **options)


#: Sending a task (the outbox relay, a chord) gives up within about a second when the broker is
#: down, instead of kombu's default of several seconds of retries: the outbox keeps the work
#: and sends it later, so a request never waits on a broker outage. The worker's own consuming
#: connection keeps retrying for ever (``broker_connection_max_retries``).
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def _broker_options(app: Flask) -> dict:
    if app.config["CELERY_BROKER_URL"].startswith("redis"):
        return {**PUBLISH_RETRY, "visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT"]}
    if not app.config["CELERY_BROKER_URL"].startswith("filesystem://"):
        return dict(PUBLISH_RETRY)
    # kombu's filesystem transport: one folder as the queue, so a newcomer needs no server.
    folder = Path(app.config["CELERY_BROKER_FOLDER"])
    for sub in ("out", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(folder / "out"), "data_folder_out": str(folder / "out"),
            "processed_folder": str(folder / "processed"), "store_processed": False,
            # Exchange tables too, or kombu writes them under the working directory.
            "control_folder": str(folder / "control")}


def init_celery(app: Flask) -> Celery:
    """Create the Celery app bound to ``app``; ``app.extensions["celery"]`` holds it. Each
    domain adds its task module and beat schedule when it is installed."""
    task_cls = type("AppTask", (FlaskTask,), {"flask_app": app})
    celery = Celery(app.import_name, task_cls=task_cls)
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        result_backend=app.config["CELERY_RESULT_BACKEND"],
        broker_transport_options=_broker_options(app),
        task_default_queue=app.config["CELERY_TASK_DEFAULT_QUEUE"],
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_always_eager=app.config["CELERY_TASK_ALWAYS_EAGER"],
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        broker_connection_timeout=2, result_extended=True,
        imports=(__name__,), beat_schedule={},
    )
    celery.flask_app = app
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


@worker_process_init.connect(dispatch_uid="ballistics-fresh-pool", weak=False)
def _fresh_pool_in_child(**_kwargs) -> None:
    """A pool child is forked from the worker's main process, whose threads (the outbox relay,
    the ledger's sealer) hold pooled database connections: the child must never reuse them
    (SQLAlchemy: dispose without closing, so the parent's connections stay intact)."""
    from celery import current_app

    flask_app = getattr(current_app, "flask_app", None)
    if flask_app is None:
        return
    with flask_app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


@shared_task(name="workers.health")
def health() -> dict:
    """Prove the worker is alive and reaches the database."""
    return {"ok": True, "labs": db.session.scalar(text("SELECT count(*) FROM labs")),
            "host": socket.gethostname(), "pid": os.getpid(),
            "database": db.engine.url.get_backend_name()}
