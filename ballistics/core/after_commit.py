"""Files written for a transaction that rolls back are removed (a refused upload leaves no
file). Work for the workers waits for the commit through the outbox (:mod:`ballistics.outbox`)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from flask_sqlalchemy.session import Session
from sqlalchemy import event

from ballistics.extensions import db


def track_new_file(path: Path) -> None:
    """Remove ``path`` if the current transaction rolls back."""
    db.session().info.setdefault("new_files", []).append(path)


@event.listens_for(Session, "after_commit")
def _keep(session: Session) -> None:
    session.info.pop("new_files", None)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    for path in session.info.pop("new_files", []):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
