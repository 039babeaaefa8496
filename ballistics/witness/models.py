"""The witness's own database: which logs it trusts, the latest state of each, and every
checkpoint it ever cosigned. Separate metadata from the lab application's on purpose: a
witness runs as another process, on another database (and, at the hub, on another machine).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ballistics.core.timeutil import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class WitnessedLog(Base):
    """A log this witness agreed to follow, with the latest checkpoint it cosigned."""

    __tablename__ = "witness_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The checkpoint origin line that identifies the log.
    origin: Mapped[str] = mapped_column(String(255), unique=True)
    #: Lowercase hex SHA-256 of the origin: the path segment of the monitoring URL.
    origin_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Size of the latest cosigned checkpoint (0 until the first).
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Root hash of the latest cosigned checkpoint (None until the first).
    root_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    #: The latest cosigned checkpoint: the log's verified signatures and this witness's.
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    keys: Mapped[list[LogKey]] = relationship(back_populates="log", cascade="all, delete-orphan",
                                              order_by="LogKey.id")


class LogKey(Base):
    """A verifier key the witness accepts for a log's checkpoints (several during rotation)."""

    __tablename__ = "witness_log_keys"
    __table_args__ = (UniqueConstraint("log_id", "vkey"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("witness_logs.id", ondelete="CASCADE"))
    #: The C2SP verifier key string: <name>+<hex key ID>+<base64(0x01 || public key)>.
    vkey: Mapped[str] = mapped_column(String(512))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    log: Mapped[WitnessedLog] = relationship(back_populates="keys")


class CosignedCheckpoint(Base):
    """Every checkpoint the witness cosigned, kept: the log cannot later deny having shown it."""

    __tablename__ = "witness_cosigned_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("witness_logs.id", ondelete="CASCADE"),
                                        index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The signed note as cosigned: checkpoint text, the log's signatures, this cosignature.
    note: Mapped[str] = mapped_column(Text)
    #: The POSIX time inside the cosignature.
    cosigned_at_unix: Mapped[int] = mapped_column(BigInteger)
    cosigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RefusalReason(enum.StrEnum):
    INCONSISTENT = "inconsistent"  # the consistency proof failed: a fork or a rewrite
    BAD_EMPTY_TREE = "bad_empty_tree"  # size 0 without the empty tree's root


class Refusal(Base):
    """A correctly signed checkpoint the witness refused to cosign: possible evidence that the
    log forked or rewrote its history (tlog-witness lets a witness keep these)."""

    __tablename__ = "witness_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("witness_logs.id", ondelete="CASCADE"),
                                        index=True)
    reason: Mapped[RefusalReason] = mapped_column(
        Enum(RefusalReason, name="witness_refusal_reason", native_enum=False,
             create_constraint=True, values_callable=lambda e: [m.value for m in e]))
    detail: Mapped[str] = mapped_column(Text)
    old_size: Mapped[int] = mapped_column(BigInteger)
    #: The whole add-checkpoint request body as received (old line, proof, signed note).
    request: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
