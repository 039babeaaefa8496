"""What a backup takes from this installation's settings, and what it records of the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text

from ballistics.auth.models import Lab
from ballistics.backup.archive import BackupError, Checked, Source
from ballistics.backup.models import BackupRecord
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.ledger import checkpointing
from ballistics.ledger.models import LedgerLog
from ballistics.ledger.verify import LedgerVerification, verify_lab
from config import REPO_ROOT


def source() -> Source:
    """This installation: its database, scans, and the keys that live beside them (not the
    session secret: a new installation makes its own, and old sessions end with the old one)."""
    cfg = current_app.config
    store = Path(cfg["IMAGE_STORE"])
    index = Path(cfg.get("SIGNATURE_INDEX") or store / "signature-index")
    instance = Path(cfg["INSTANCE_PATH"])
    keys = {"ledger": Path(cfg["LEDGER_KEY_DIR"]),
            "network": Path(cfg["NETWORK_KEY_FILE"]) if cfg.get("NETWORK_KEY_FILE")
            else instance / "network"}
    return Source(cfg["SQLALCHEMY_DATABASE_URI"], store, skip=(index,), keys=keys)


def facts() -> dict:
    """The schema's revision and each lab's log as the backup holds them: after a restore, a
    witness that has cosigned a larger log shows what was lost since."""
    revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    logs = []
    for log, code in db.session.execute(select(LedgerLog, Lab.code)
                                        .join(Lab, Lab.id == LedgerLog.lab_id)
                                        .order_by(Lab.code)):
        latest = checkpointing.latest(db.session, log.lab_id)
        logs.append({"lab": code, "origin": log.origin, "size": log.size,
                     "checkpoint": None if latest is None else
                     {"size": latest.size, "root_hash": latest.root_hash.hex()}})
    db.session.rollback()  # read only; nothing held open while files are copied
    return {"schema_revision": revision, "ledger": logs}


def require_known_revision(manifest: dict) -> None:
    """This code must know the backup's schema (an older one is upgraded after the restore)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    revision = manifest.get("schema_revision")
    scripts = ScriptDirectory.from_config(_alembic_config(Config))
    try:
        known = revision is not None and scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"the backup's schema revision {revision!r} is unknown to this "
                          "version of the software: restore it with the version that made it")


def _alembic_config(config_class):
    cfg = config_class()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    return cfg


def verify_ledgers() -> list[tuple[str, LedgerVerification]]:
    """Each lab's log checked against its checkpoints and what its witnesses hold now."""
    rows = db.session.execute(select(Lab.code, LedgerLog.lab_id)
                              .join(Lab, Lab.id == LedgerLog.lab_id).order_by(Lab.code)).all()
    return [(code, verify_lab(lab_id)) for code, lab_id in rows]


def record(folder: Path, manifest: dict, digest: str) -> BackupRecord:
    """Put a finished backup in the register."""
    row = BackupRecord(folder=str(folder.resolve()), manifest_sha256=digest,
                       files=len(manifest["files"]),
                       size_bytes=sum(f["size"] for f in manifest["files"]),
                       schema_revision=manifest["schema_revision"] or "",
                       keys_included=manifest["keys_included"])
    db.session.add(row)
    db.session.flush()
    return row


def record_check(digest: str, checked: Checked) -> BackupRecord | None:
    """The latest check of a registered backup (None: not made by this installation)."""
    row = db.session.scalar(select(BackupRecord).where(BackupRecord.manifest_sha256 == digest))
    if row is not None:
        row.verified_at, row.verified_ok = utcnow(), checked.ok
        row.problems = "\n".join(checked.problems)
        db.session.flush()
    return row


@dataclass(frozen=True)
class BackupStatus:
    latest: BackupRecord | None
    due_days: int
    now: datetime

    @property
    def overdue(self) -> bool:
        return (self.latest is None
                or self.now - self.latest.created_at > timedelta(days=self.due_days))

    @property
    def age_days(self) -> int | None:
        return None if self.latest is None else (self.now - self.latest.created_at).days

    @property
    def problems(self) -> list[str]:
        return self.latest.problems.splitlines() if self.latest else []


def status() -> BackupStatus:
    """The installation's latest backup, against how often one is due (``BACKUP_DUE_DAYS``)."""
    latest = db.session.scalar(select(BackupRecord)
                               .order_by(BackupRecord.created_at.desc(), BackupRecord.id.desc())
                               .limit(1))
    return BackupStatus(latest, current_app.config["BACKUP_DUE_DAYS"], utcnow())
