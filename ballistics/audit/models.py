"""AuditEntry (append-only, one hash chain per lab) and AuditHead (the chain's tip)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ballistics.core.append_only import append_only
from ballistics.core.enums import db_enum
from ballistics.extensions import db


class AuditAction(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    #: a read that must be on record (a disclosure, a look across a lab boundary)
    READ = "read"


@append_only
class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("chain_key", "seq"),)
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the lab whose chain this entry extends (0 = installation-wide records)
    chain_key: Mapped[int] = mapped_column(index=True)
    #: position in the chain, 1-based, gapless
    seq: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(index=True)
    #: "web", "api", "task:<name>", "cli:<name>", "system"
    origin: Mapped[str] = mapped_column(String(80))
    action: Mapped[AuditAction] = mapped_column(db_enum(AuditAction, length=40))
    object_type: Mapped[str] = mapped_column(String(80), index=True)
    object_id: Mapped[str | None] = mapped_column(String(80), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(db.Model):
    """The last entry of each lab's chain; locked while appending so the chain never forks."""

    __tablename__ = "audit_heads"
    __audit__ = False

    chain_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
