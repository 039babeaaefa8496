"""What a backup takes from this installation's settings, and what it records of the ledger."""

from __future__ import annotations

import fcntl
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text

from ballistics.auth.models import Lab
from ballistics.backup import archive
from ballistics.backup.archive import BackupError, Checked, Source
from ballistics.backup.models import BackupRecord
from ballistics.core.health import known_revision
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.ledger import checkpointing
from ballistics.ledger.models import LedgerLog
from ballistics.ledger.verify import LedgerVerification, verify_lab


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
    skip = (index, Path(cfg["BACKUP_DIR"])) if cfg["BACKUP_DIR"] else (index,)
    return Source(cfg["SQLALCHEMY_DATABASE_URI"], store, skip=skip, keys=keys)


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
    revision = manifest.get("schema_revision")
    if not known_revision(revision):
        raise BackupError(f"the backup's schema revision {revision!r} is unknown to this "
                          "version of the software: restore it with the version that made it")


def verify_ledgers() -> list[tuple[str, LedgerVerification]]:
    """Each lab's log checked against its checkpoints and what its witnesses hold now."""
    rows = db.session.execute(select(Lab.code, LedgerLog.lab_id)
                              .join(Lab, Lab.id == LedgerLog.lab_id).order_by(Lab.code)).all()
    return [(code, verify_lab(lab_id)) for code, lab_id in rows]


log = logging.getLogger(__name__)


def make(dest: Path, *, with_keys: bool = False) -> tuple[dict, BackupRecord]:
    """Back this installation up into ``dest`` and put it in the register (flushed)."""
    manifest = archive.create(dest, source(), facts=facts(), with_keys=with_keys)
    return manifest, record(dest, manifest, archive.manifest_digest(dest.resolve()))


def check(folder: Path) -> tuple[Checked, str, BackupRecord | None]:
    """Verify a backup and record the check if this installation made it."""
    checked = archive.verify(folder)
    digest = archive.manifest_digest(folder.resolve())
    return checked, digest, record_check(digest, checked)


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


def scheduled() -> BackupRecord | None:
    """Celery beat's backup (``backup.tick``): when ``BACKUP_DIR`` is set and the latest backup
    is older than ``BACKUP_EVERY_HOURS``, make one there, verify it, and apply ``BACKUP_KEEP``.
    One at a time per machine (a lock file in the folder; another worker's tick returns at
    once). The new backup, or None when none was due (or another worker is making it)."""
    cfg = current_app.config
    if not cfg["BACKUP_DIR"]:
        return None
    folder = Path(cfg["BACKUP_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".backup.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        latest = status().latest
        due = timedelta(hours=cfg["BACKUP_EVERY_HOURS"])
        if latest is not None and utcnow() - latest.created_at < due:
            return None
        now = utcnow()
        _manifest, row = make(folder / now.strftime("%Y%m%dT%H%M%S.%fZ"))
        checked, _digest, _row = check(Path(row.folder))
        db.session.commit()
        if checked.ok and cfg["BACKUP_KEEP"] > 0:
            prune(folder, cfg["BACKUP_KEEP"])
        return row


def prune(folder: Path, keep: int) -> list[BackupRecord]:
    """Delete the folders of all but the ``keep`` newest verified backups under ``folder``
    (only those the register names there: nothing else in the folder is touched); each row
    stays, with when. A backup that did not verify is never counted as one kept."""
    folder = folder.resolve()
    rows = db.session.scalars(select(BackupRecord).where(BackupRecord.pruned_at.is_(None))
                              .order_by(BackupRecord.created_at.desc(),
                                        BackupRecord.id.desc())).all()
    ours = [r for r in rows if Path(r.folder).parent == folder]
    kept = [r for r in ours if r.verified_ok][:keep]
    if len(kept) < keep:
        return []
    oldest_kept = kept[-1]
    pruned = []
    for row in ours:
        if row in kept or (row.created_at, row.id) >= (oldest_kept.created_at, oldest_kept.id):
            continue
        shutil.rmtree(row.folder, ignore_errors=True)
        row.pruned_at = utcnow()
        pruned.append(row)
        log.info("backup %s deleted (BACKUP_KEEP=%s)", row.folder, keep)
    db.session.commit()
    return pruned
