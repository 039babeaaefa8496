"""The backup register: every backup this installation made, and when it was last checked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ballistics.core.timeutil import utcnow
from ballistics.extensions import db


class BackupRecord(db.Model):
    """One backup (``flask backup create``), written once it is complete; ``flask backup
    verify`` records its latest check. The row is not in the backup it describes (it is
    written after): a restored register ends at the backup before."""

    __tablename__ = "backups"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    folder: Mapped[str] = mapped_column(String(1000))
    #: pins every file (the manifest lists each with its SHA-256)
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    files: Mapped[int]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    schema_revision: Mapped[str] = mapped_column(String(40))
    keys_included: Mapped[bool]
    verified_at: Mapped[datetime | None]
    verified_ok: Mapped[bool | None]
    #: what the latest check found (one problem per line), empty when it verified
    problems: Mapped[str] = mapped_column(Text, default="")
    #: when the scheduled backups' retention (BACKUP_KEEP) deleted the folder; the row stays
    pruned_at: Mapped[datetime | None]
