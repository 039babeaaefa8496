"""Scheduled backups: celery beat asks every 15 minutes; a backup is made only when one is due
(``BACKUP_DIR`` set, the latest older than ``BACKUP_EVERY_HOURS``), so a machine that was off
at night backs up when it comes back."""

from __future__ import annotations

from ballistics.backup import services
from ballistics.core.celery import task

BEAT_SCHEDULE = {"backup-tick": {"task": "backup.tick", "schedule": 900.0}}


@task("backup.tick")
def tick() -> int | None:
    """The register number of the backup made, or None (none due, or another worker's)."""
    row = services.scheduled()
    return None if row is None else row.id
