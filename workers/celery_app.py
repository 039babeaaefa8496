"""The Celery application, bound to the Flask app: every task runs inside its app context.

Tasks take ids, never objects, and use the JSON serialiser; they are thin (load, call a domain
service, commit) and set who acts so the audit log names the task.
"""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task
from flask import Flask


def _broker_options(app: Flask) -> dict:
    if app.config["CELERY_BROKER_URL"].startswith("redis"):
        return {"visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT"]}
    if not app.config["CELERY_BROKER_URL"].startswith("filesystem://"):
        return {}
    # kombu's filesystem transport: one folder as the queue, so a newcomer needs no server.
    folder = Path(app.config["CELERY_BROKER_FOLDER"])
    for sub in ("out", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(folder / "out"), "data_folder_out": str(folder / "out"),
            "processed_folder": str(folder / "processed"), "store_processed": False,
            # Exchange tables too, or kombu writes them under the working directory.
            "control_folder": str(folder / "control")}


def make_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                from ballistics.extensions import db

                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        result_backend=app.config["CELERY_RESULT_BACKEND"],
        broker_transport_options=_broker_options(app),
        task_default_queue=app.config["CELERY_TASK_DEFAULT_QUEUE"],
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_always_eager=app.config["CELERY_TASK_ALWAYS_EAGER"],
        broker_connection_retry_on_startup=True, result_extended=True,
        imports=["workers.tasks", "ballistics.comparisons.tasks", "sop.tasks"],
    )
    from sop.tasks import BEAT_SCHEDULE as SOP_SCHEDULE

    celery.conf.beat_schedule = {**SOP_SCHEDULE}
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def create_celery() -> Celery:
    from ballistics.app import create_app

    return create_app().extensions["celery"]
