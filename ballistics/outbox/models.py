"""OutboxMessage: one unit of work waiting to leave the database."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db


class Topic(StrEnum):
    #: a Celery task sent by name with JSON arguments (sent by the relay)
    CELERY = "celery"
    #: a delivery to the regional hub, sent in order by the network's deliverer
    HUB = "hub"


class OutboxMessage(db.Model):
    """Written in the transaction that asks for the work; sent after it commits.

    A relay claims a batch (``claimed_until``), sends it and records ``sent_at``; a failed send
    is retried with back-off (``available_at``). Rows are plumbing, not lab records, so they are
    not audited.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "available_at"),)
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[Topic] = mapped_column(db_enum(Topic))
    #: the task name (topic "celery")
    name: Mapped[str] = mapped_column(String(120))
    #: {"args": [...], "kwargs": {...}, "options": {...}} (JSON only: ids, never objects)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: not before this time (back-off after a failed send)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: a relay holds the row until then; a crashed relay's claim simply runs out
    claimed_until: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(String(32), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
