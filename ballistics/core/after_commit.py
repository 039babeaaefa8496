"""Work that must wait for the transaction: Celery tasks are sent only once the rows they read
are committed, and files written for a transaction that rolls back are removed."""

from __future__ import annotations

import contextlib
from pathlib import Path

from flask_sqlalchemy.session import Session
from sqlalchemy import event

from ballistics.extensions import db


def enqueue(task_name: str, *args: int | str, **options) -> None:
    """Send a Celery task by name after the current transaction commits (ids only)."""
    db.session().info.setdefault("after_commit_tasks", []).append((task_name, args, options))


def track_new_file(path: Path) -> None:
    """Remove ``path`` if the current transaction rolls back."""
    db.session().info.setdefault("new_files", []).append(path)


@event.listens_for(Session, "after_commit")
def _send(session: Session) -> None:
    session.info.pop("new_files", None)
    tasks = session.info.pop("after_commit_tasks", [])
    if not tasks:
        return
    from flask import current_app

    celery = current_app.extensions["celery"]
    for name, args, options in tasks:
        celery.send_task(name, args=list(args), **options)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop("after_commit_tasks", None)
    for path in session.info.pop("new_files", []):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
