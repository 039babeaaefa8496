"""Writing to the outbox and relaying it.

:func:`enqueue` adds a row to the caller's transaction. After the transaction commits, the rows
it wrote are sent at once (best effort: a broker that is down fails nothing, the rows wait);
every worker process also relays what is pending every few seconds (:mod:`.relay`), and
``flask outbox relay`` does the same by hand. Sends are at least once: tasks are idempotent.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from flask import current_app
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.outbox.models import OutboxMessage, Topic

log = logging.getLogger(__name__)

#: how long a relay may hold a claimed batch before another relay may take it
CLAIM_SECONDS = 60
#: back-off after failed sends: 2, 4, 8 ... seconds, at most this
MAX_BACKOFF_SECONDS = 300


def enqueue(task_name: str, *args: int | str, **options) -> OutboxMessage:
    """Ask for a Celery task (by name, JSON arguments) once the current transaction commits."""
    message = OutboxMessage(topic=Topic.CELERY, name=task_name,
                            payload={"args": list(args), "options": options})
    session = db.session()
    session.add(message)
    session.info.setdefault("outbox_new", []).append(message)
    return message


def post(topic: Topic, name: str, payload: dict) -> OutboxMessage:
    """Write a message for another topic's sender (e.g. a delivery to the hub) in the current
    transaction; that sender reads its topic in order."""
    message = OutboxMessage(topic=topic, name=name, payload=payload)
    db.session.add(message)
    return message


def _send(message: OutboxMessage) -> None:
    if message.topic == Topic.CELERY:
        celery = current_app.extensions["celery"]
        # retry=False: a broker that is down must fail this send now, not hold the caller.
        celery.send_task(message.name, args=message.payload.get("args", []),
                         kwargs=message.payload.get("kwargs", {}), retry=False,
                         **message.payload.get("options", {}))
        return
    raise ValueError(f"unknown outbox topic {message.topic}")


def relay(limit: int = 200, ids: list[int] | None = None) -> tuple[int, int]:
    """Send pending messages (all that are due, or only ``ids``); return (sent, failed).

    Runs in its own transactions on its own session: a batch is claimed atomically (one UPDATE,
    so two relays never send the same row at the same time), sent, and marked.
    """
    now, token = utcnow(), uuid.uuid4().hex
    pending = (OutboxMessage.sent_at.is_(None) & (OutboxMessage.topic == Topic.CELERY)
               & (OutboxMessage.available_at <= now)
               & (OutboxMessage.claimed_until.is_(None) | (OutboxMessage.claimed_until < now)))
    batch = select(OutboxMessage.id).where(pending).order_by(OutboxMessage.id).limit(limit)
    if ids is not None:
        batch = batch.where(OutboxMessage.id.in_(ids))
    with Session(db.engine) as session:
        session.execute(update(OutboxMessage).where(pending, OutboxMessage.id.in_(batch))
                        .values(claim=token,
                                claimed_until=now + timedelta(seconds=CLAIM_SECONDS)),
                        execution_options={"synchronize_session": False})
        session.commit()
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.claim == token)
                                   .order_by(OutboxMessage.id)).all()
        sent = failed = 0
        for message in messages:
            message.attempts += 1
            message.claimed_until = message.claim = None
            try:
                _send(message)
            except Exception as exc:
                failed += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                delay = min(2 ** message.attempts, MAX_BACKOFF_SECONDS)
                message.available_at = utcnow() + timedelta(seconds=delay)
                log.warning("outbox %s (%s) not sent, retry in %s s: %s", message.id,
                            message.name, delay, message.last_error)
                if failed == 1 and ids is None:
                    # The broker is down: stop here and keep the rest of the batch for later.
                    for rest in messages[messages.index(message) + 1:]:
                        rest.claimed_until = rest.claim = None
                    break
            else:
                sent += 1
                message.sent_at = utcnow()
        session.commit()
    return sent, failed


@event.listens_for(FlaskSession, "after_commit")
def _send_after_commit(session: FlaskSession) -> None:
    new = session.info.pop("outbox_new", [])
    if not new:
        return
    # The objects are expired by the commit; their identity is still known without SQL.
    ids = [inspect(m).identity[0] for m in new if inspect(m).identity]
    try:
        relay(ids=ids)
    except Exception:  # the request succeeded; the periodic relay will send these
        log.exception("outbox: sending after commit failed; the relay will retry")


@event.listens_for(FlaskSession, "after_rollback")
def _forget(session: FlaskSession) -> None:
    session.info.pop("outbox_new", None)
