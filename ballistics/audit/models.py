"""AuditEntry: append-only; each entry hashed on its own content and sealed into the lab's
ledger (entries written before the ledger form the old per-lab hash chain)."""

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
    #: the lab whose log holds this entry (0 = installation-wide records, in no lab's log)
    chain_key: Mapped[int] = mapped_column()  # uq (chain_key, seq) serves it
    #: position in the old per-lab chain (1-based, gapless) for entries written before the
    #: ledger; None since: the entry's position is its leaf's in the lab's ledger
    seq: Mapped[int | None]
    actor_id: Mapped[int | None] = mapped_column(index=True)
    #: "web", "api", "task:<name>", "cli:<name>", "system"
    origin: Mapped[str] = mapped_column(String(80))
    action: Mapped[AuditAction] = mapped_column(db_enum(AuditAction, length=40))
    object_type: Mapped[str] = mapped_column(String(80), index=True)
    object_id: Mapped[str | None] = mapped_column(String(80), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    #: old chain: the previous entry's hash. Since the ledger: ``salt:<32 hex>``, a random salt
    #: so that two entries with the same facts still have distinct hashes
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
