"""The lab's transparency log in the database: the log's state, its leaves and tree nodes, the
signed checkpoints and the witnesses' cosignatures.

Leaves, nodes, checkpoints and cosignatures are append-only (triggers refuse UPDATE and DELETE,
as for custody events). Only the sealer writes ``ledger_logs``; the custody and audit tables
are never locked by it. None of these tables is audited: they are themselves the audit's proof,
and each row is checked by recomputation (``ballistics.ledger.verify``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ballistics.core.append_only import append_only
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db


class LeafKind(StrEnum):
    """What a leaf stands for: one row of a source table (see ``ballistics.ledger.leaves``)."""

    CUSTODY_EVENT = "custody_event"
    AUDIT_ENTRY = "audit_entry"


class LedgerLog(db.Model):
    """One log per lab: its size, the right edge of its Merkle tree and the sealer's cursor."""

    __tablename__ = "ledger_logs"
    __audit__ = False

    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), primary_key=True,
                                        autoincrement=False)
    #: the C2SP origin line and the lab key's name: ``<LEDGER_HOST>/ledger/<lab code>``
    origin: Mapped[str] = mapped_column(String(200), unique=True)
    #: leaves sealed so far
    size: Mapped[int] = mapped_column(default=0)
    #: the compact range (``merkle.CompactRange.hashes``) as hex: one hash per set bit of size
    edge: Mapped[list] = mapped_column(JSON, default=list)
    #: the sealer's cursor per leaf kind: {"high": id, "holes": [[lo, hi, first seen], ...]}
    #: and the rows it refused to seal (hash does not match the row)
    scan: Mapped[dict] = mapped_column(JSON, default=dict)
    swept_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: why the last checkpoint was refused (the stored tree contradicts a witnessed
    #: checkpoint); kept until a person clears it, never by the sealer
    alarm: Mapped[str] = mapped_column(Text, default="")


@append_only
class LedgerLeaf(db.Model):
    """Position ``position`` (0-based) of a lab's log: the hash of one custody event or audit
    entry, as ``ballistics.ledger.leaves`` defines the leaf data."""

    __tablename__ = "ledger_leaves"
    __table_args__ = (UniqueConstraint("kind", "source_id"),)
    __audit__ = False

    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), primary_key=True,
                                        autoincrement=False)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[LeafKind] = mapped_column(db_enum(LeafKind))
    source_id: Mapped[int]
    #: RFC 9162 leaf hash, SHA-256(0x00 || leaf data)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: when the source row was written (for the commit-to-sealed delay)
    recorded_at: Mapped[datetime]
    sealed_at: Mapped[datetime]


@append_only
class LedgerNode(db.Model):
    """A perfect subtree hash above the leaves: level >= 1, leaves
    [index * 2**level, (index + 1) * 2**level). Level 0 is ``ledger_leaves.leaf_hash``."""

    __tablename__ = "ledger_nodes"
    __audit__ = False

    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), primary_key=True,
                                        autoincrement=False)
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column("idx", primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


@append_only
class LedgerCheckpoint(db.Model):
    """A C2SP checkpoint of a lab's log, signed by the lab key; every one is kept."""

    __tablename__ = "ledger_checkpoints"
    __table_args__ = (Index("ix_ledger_checkpoints_lab_size", "lab_id", "size"),)
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"))
    size: Mapped[int]
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: the signed note exactly as signed (body, blank line, the lab's signature line)
    note: Mapped[str] = mapped_column(Text)
    #: verifier key of the lab key that signed it
    vkey: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@append_only
class LedgerCosignature(db.Model):
    """A witness's C2SP cosignature/v1 of a checkpoint (the signature line, as received)."""

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (UniqueConstraint("checkpoint_id", "vkey"),)
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("ledger_checkpoints.id"), index=True)
    #: the witness's cosignature verifier key (type 0x04)
    vkey: Mapped[str] = mapped_column(String(300))
    #: the time inside the cosignature (when the witness saw the checkpoint)
    cosigned_at: Mapped[datetime]
    line: Mapped[str] = mapped_column(Text)


class LedgerWitness(db.Model):
    """What one configured witness has cosigned for a lab's log, and its last failure.

    The witness itself (URL and key) comes from configuration, never from this table: a
    database owner must not be able to swap the key that verifies cosignatures.
    """

    __tablename__ = "ledger_witnesses"
    __audit__ = False

    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), primary_key=True,
                                        autoincrement=False)
    vkey: Mapped[str] = mapped_column(String(300), primary_key=True)
    #: the largest size this witness has cosigned for the log (its ``old`` for the next request)
    size: Mapped[int] = mapped_column(default=0)
    last_success_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    #: not before this time (back-off after a failure)
    next_attempt_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)
    #: the last refusal or error in words ("" once a request succeeds)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: a refusal that means the log contradicts what this witness saw (422, or a larger tree):
    #: kept until a person looks (``flask ledger status``), never cleared by a later success
    alarm: Mapped[str] = mapped_column(Text, default="")
