"""Who is acting: read by the audit log. Requests take it from the logged-in user; Celery tasks
and CLI commands set it explicitly with :func:`acting_as`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from flask import g, has_app_context, has_request_context


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    lab_id: int | None
    origin: str  # "web", "api", "task:<name>", "cli:<name>"


_actor: ContextVar[Actor | None] = ContextVar("ballistics_actor", default=None)


@contextlib.contextmanager
def acting_as(user_id: int | None, lab_id: int | None, origin: str) -> Iterator[Actor]:
    """Act as this user (or system origin) until the block ends. Changes made in the block
    are flushed before it ends, so the audit log records them as this actor's even when the
    transaction commits later, under another (a sweep that acts for each lab in turn)."""
    token = _actor.set(Actor(user_id, lab_id, origin))
    try:
        yield _actor.get()
        _flush_changes()
    finally:
        _actor.reset(token)


def _flush_changes() -> None:
    from ballistics.extensions import db  # the session is the app's: imported when used

    if not has_app_context() or not db.session.registry.has():
        return
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()


def current_actor() -> Actor:
    actor = _actor.get()
    if actor is not None:
        return actor
    if has_request_context():
        # a request authenticated otherwise than by an account (a member lab's signature at
        # the hub) names its actor for the request
        if (signed := getattr(g, "actor", None)) is not None:
            return signed
        user = getattr(g, "api_user", None)
        origin = "api"
        if user is None:
            from flask_login import current_user

            user = current_user if current_user and current_user.is_authenticated else None
            origin = "web"
        if user is not None:
            return Actor(user.id, user.lab_id, origin)
        return Actor(None, None, "web:anonymous")
    return Actor(None, None, "system")
