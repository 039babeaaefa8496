"""Backups (``flask backup``): made while the lab has records, verified file by file, restored
only into an empty installation, and after a restore the ledger says what the witnesses saw
that the backup does not hold. Both databases, each an installation of its own (a backup copies
a whole database), the commands run as an operator runs them (Flask's CLI runner)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, func, inspect, select

from ballistics.app import create_app
from ballistics.backup import archive
from ballistics.backup import tasks as backup_tasks
from ballistics.backup.models import BackupRecord
from ballistics.core.timeutil import utcnow
from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import Item
from ballistics.extensions import db
from ballistics.ledger import checkpointing, witnesses
from ballistics.ledger.sealer import seal_all
from tests.ledger.support import InProcessWitness
from tests.support.labs import make_lab
from tests.support.services import create_pg_database, drop_pg_database, migrated_app
from tests.support.web import Api


@contextlib.contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'lab.sqlite'}"
        return
    url = create_pg_database("ballistics_backup")
    try:
        yield url
    finally:
        drop_pg_database(url)


def _empty_app(url: str, instance: Path) -> Flask:
    """An installation with nothing in its database yet (a new machine)."""
    os.environ["DATABASE_URL"] = url
    try:
        return create_app({"INSTANCE_PATH": str(instance), "TESTING": True,
                           "RATELIMIT_ENABLED": False, "LEDGER_SEAL_SECONDS": 0})
    finally:
        del os.environ["DATABASE_URL"]


class Installation:
    def __init__(self, app: Flask, witness: InProcessWitness) -> None:
        self.app, self.witness = app, witness

    def cli(self, *args: str):
        return self.app.test_cli_runner().invoke(args=list(args))

    def checkpoint(self, lab_id: int) -> int:
        with self.app.app_context():
            seal_all(lab_id)
            info = checkpointing.make_checkpoint(lab_id)
            assert all(o.ok for o in checkpointing.witness(lab_id, info))
            return info.size


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def source(kind, tmp_path) -> Iterator[tuple[Installation, object]]:
    """A lab with two items, a witnessed checkpoint, a scan file and a signature index file."""
    with _database(kind, tmp_path / "src") as url:
        (tmp_path / "src").mkdir(exist_ok=True)
        app = migrated_app(url, tmp_path / "src", LEDGER_SEAL_SECONDS=0)
        witness = InProcessWitness(app, tmp_path / "witness")
        with app.app_context():
            kit = make_lab()
            db.session.commit()
            witness.trust(kit.lab.id)
            db.session.commit()
            kit.lab_id, kit.code = kit.lab.id, kit.lab.code  # plain values, past this context
        api = Api(app.test_client(), kit, "tech")
        case = api.new_case()
        api.receive(case["id"], kind="firearm")
        api.receive(case["id"])
        store = Path(app.config["IMAGE_STORE"])
        (store / "ab").mkdir(parents=True, exist_ok=True)
        (store / "ab" / "scan.x3p").write_bytes(b"PK\x03\x04 a scan " * 100)
        (store / "signature-index" / "v1").mkdir(parents=True, exist_ok=True)
        (store / "signature-index" / "v1" / "seg-0.npy").write_bytes(b"derived")
        inst = Installation(app, witness)
        inst.checkpoint(kit.lab_id)
        yield inst, kit
        with app.app_context():
            db.engine.dispose()


@contextlib.contextmanager
def _target(kind: str, folder: Path, witness: InProcessWitness) -> Iterator[Installation]:
    folder.mkdir()
    with _database(kind, folder) as url:
        app = _empty_app(url, folder)
        witnesses.register(app, witness.plugged)  # the same witness, asked after the restore
        yield Installation(app, witness)
        with app.app_context():
            db.engine.dispose()


def test_a_backup_restores_into_a_new_installation_whole_and_verified(source, kind, tmp_path):
    inst, kit = source
    dest = tmp_path / "backup-1"
    made = inst.cli("backup", "create", str(dest), "--with-keys")
    assert made.exit_code == 0, made.output
    assert f"{kit.code}: ledger of " in made.output and "manifest SHA-256 " in made.output
    manifest = archive.read_manifest(dest)
    names = {f["path"] for f in manifest["files"]}
    assert "scans/ab/scan.x3p" in names
    assert not any("signature-index" in n for n in names)  # derived: rebuilt, not copied
    assert any(n.startswith("keys/ledger/") for n in names)
    assert not list(tmp_path.glob(".backup-1.partial-*"))
    checked = inst.cli("backup", "verify", str(dest))
    assert checked.exit_code == 0 and f"{len(names)} files" in checked.output, checked.output

    with _target(kind, tmp_path / "new", inst.witness) as new:
        restored = new.cli("backup", "restore", str(dest), "--with-keys")
        assert restored.exit_code == 0, restored.output
        assert "entries verified" in restored.output, restored.output
        with new.app.app_context():
            items = db.session.scalars(select(Item).where(Item.lab_id == kit.lab_id)).all()
            assert len(items) == 2 and all(verify_chain(db.session, i).ok for i in items)
        scan = Path(new.app.config["IMAGE_STORE"]) / "ab" / "scan.x3p"
        assert scan.read_bytes() == b"PK\x03\x04 a scan " * 100
        assert not (Path(new.app.config["IMAGE_STORE"]) / "signature-index").exists()


def test_restoring_an_older_backup_names_what_the_witness_saw_since(source, kind, tmp_path):
    inst, kit = source
    dest = tmp_path / "monday"
    assert inst.cli("backup", "create", str(dest), "--with-keys").exit_code == 0
    backed_up = archive.read_manifest(dest)["ledger"][0]["size"]
    api = Api(inst.app.test_client(), kit, "tech")
    api.receive(api.new_case()["id"])  # Tuesday's work, witnessed, then the disk fails
    tuesday = inst.checkpoint(kit.lab_id)
    assert tuesday > backed_up

    with _target(kind, tmp_path / "new", inst.witness) as new:
        restored = new.cli("backup", "restore", str(dest), "--with-keys")
        assert restored.exit_code == 1, restored.output
        assert (f"a checkpoint of {tuesday} entries was witnessed" in restored.output
                and f"the log holds {backed_up}: entries were removed" in restored.output)
        assert "does not verify" in restored.output and "record the loss" in restored.output
        with new.app.app_context():  # the records themselves are there, as backed up
            assert db.session.scalar(select(func.count(Item.id))
                                     .where(Item.lab_id == kit.lab_id)) == 2


def test_a_changed_or_added_file_is_named_and_the_backup_is_not_restored(source, kind,
                                                                          tmp_path):
    inst, _kit = source
    dest = tmp_path / "backup"
    assert inst.cli("backup", "create", str(dest)).exit_code == 0
    scan = dest / "scans" / "ab" / "scan.x3p"
    data = bytearray(scan.read_bytes())
    data[10] ^= 1
    scan.write_bytes(bytes(data))
    (dest / "scans" / "extra.bin").write_bytes(b"x")

    checked = inst.cli("backup", "verify", str(dest))
    assert checked.exit_code == 1
    assert "scans/ab/scan.x3p: changed" in checked.output
    assert "scans/extra.bin: not in the manifest" in checked.output

    with _target(kind, tmp_path / "new", inst.witness) as new:
        refused = new.cli("backup", "restore", str(dest))
        assert refused.exit_code == 1 and "does not verify" in refused.output
        with new.app.app_context():
            assert inspect(db.engine).get_table_names() == []  # nothing written
        assert not any(Path(new.app.config["IMAGE_STORE"]).rglob("*.x3p"))


def test_nothing_is_overwritten_and_a_failed_backup_leaves_nothing(source, kind, tmp_path):
    inst, _kit = source
    dest = tmp_path / "backup"
    assert inst.cli("backup", "create", str(dest)).exit_code == 0
    again = inst.cli("backup", "create", str(dest))
    assert again.exit_code == 1 and "already exists" in again.output

    # Into the installation it came from: its database holds the lab's records.
    over = inst.cli("backup", "restore", str(dest))
    assert over.exit_code == 1 and "never over one" in over.output

    # Keys asked of a backup made without them.
    with _target(kind, tmp_path / "new", inst.witness) as new:
        nokeys = new.cli("backup", "restore", str(dest), "--with-keys")
        assert nokeys.exit_code == 1 and "holds no keys" in nokeys.output

    # A database that cannot be read: no backup folder, no partial one.
    broken = archive.Source("postgresql+psycopg://root@127.0.0.1:5432/no_such_database_here"
                            if kind == "postgresql" else f"sqlite:///{tmp_path / 'none.sqlite'}",
                            tmp_path / "store")
    with pytest.raises(archive.BackupError):
        archive.create(tmp_path / "failed", broken, facts={})
    assert not (tmp_path / "failed").exists()
    assert not list(tmp_path.glob(".failed.partial-*"))


def test_a_backup_from_unknown_software_is_refused(source, kind, tmp_path):
    inst, _kit = source
    dest = tmp_path / "backup"
    assert inst.cli("backup", "create", str(dest)).exit_code == 0
    manifest = archive.read_manifest(dest)
    assert manifest["schema_revision"]
    manifest["schema_revision"] = "9999"
    path = dest / archive.MANIFEST
    path.write_text(__import__("json").dumps(manifest))
    with _target(kind, tmp_path / "new", inst.witness) as new:
        refused = new.cli("backup", "restore", str(dest))
        assert refused.exit_code == 1 and "'9999' is unknown" in refused.output


def test_the_register_records_each_backup_and_its_latest_check(source, kind, tmp_path):
    inst, _kit = source
    good, bad = tmp_path / "good", tmp_path / "bad"
    assert inst.cli("backup", "create", str(good)).exit_code == 0
    assert inst.cli("backup", "create", str(bad)).exit_code == 0
    (bad / "scans" / "ab" / "scan.x3p").write_bytes(b"rewritten")
    assert inst.cli("backup", "verify", str(good)).exit_code == 0
    assert inst.cli("backup", "verify", str(bad)).exit_code == 1
    with inst.app.app_context():
        rows = {Path(r.folder).name: r for r in db.session.scalars(select(BackupRecord))}
        assert rows["good"].manifest_sha256 == archive.manifest_digest(good)
        assert rows["good"].verified_ok is True and rows["good"].problems == ""
        assert rows["bad"].verified_ok is False
        assert rows["bad"].problems.startswith("scans/ab/scan.x3p: changed")
        assert rows["good"].files == len(archive.read_manifest(good)["files"])


def test_the_audit_page_says_when_the_records_were_last_backed_up(app, lab):
    from tests.support.web import Browser

    web = Browser(app, lab, "manager")
    db.session.execute(delete(BackupRecord))
    db.session.commit()
    page = web.get("/audit")
    assert 'data-testid="backup-state"' in page
    assert "No backup of this installation is on record" in page

    row = BackupRecord(folder="/backups/monday", manifest_sha256="ab" * 32, files=1204,
                       size_bytes=2_345_600_000, schema_revision="0026", keys_included=False,
                       created_at=utcnow() - timedelta(days=3), verified_at=utcnow(),
                       verified_ok=False, problems="scans/x.x3p: missing")
    db.session.add(row)
    db.session.commit()
    web.client.set_cookie("lang", "es")
    page = web.get("/audit")
    assert "1204 archivos, 2345,6 MB" in page, page
    assert "NO está como se hizo" in page and "scans/x.x3p: missing" in page
    assert "La última copia de seguridad tiene 3 días. Debe hacerse una cada 2 días." in page
    assert "ab" * 32 in page
    web.client.set_cookie("lang", "en")
    row.created_at, row.verified_ok, row.problems = utcnow(), True, ""
    db.session.commit()
    page = web.get("/audit")
    assert "1,204 files, 2,345.6 MB" in page and "every file as made" in page
    assert "days old" not in page and "day old" not in page
    db.session.execute(delete(BackupRecord))
    db.session.commit()


def test_scheduled_backups_are_made_when_due_verified_and_kept_as_configured(source, tmp_path):
    inst, _kit = source
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "made-by-hand").mkdir()  # not the register's: never touched
    with inst.app.app_context():
        inst.app.config.update(BACKUP_DIR=str(shelf), BACKUP_EVERY_HOURS=24, BACKUP_KEEP=2)
        try:
            first = backup_tasks.tick()
            assert first is not None
            assert backup_tasks.tick() is None  # not due yet
            rows = db.session.scalars(select(BackupRecord).order_by(BackupRecord.id)).all()
            assert [r.verified_ok for r in rows] == [True]
            assert archive.verify(Path(rows[0].folder)).ok

            made = []
            for hours in (50, 26):  # two more, each when the latest was a day old
                db.session.get(BackupRecord, first if not made else made[-1]).created_at = \
                    utcnow() - timedelta(hours=hours)
                db.session.commit()
                made.append(backup_tasks.tick())
                assert made[-1] is not None
            rows = {r.id: r for r in db.session.scalars(select(BackupRecord))}
            assert rows[first].pruned_at is not None and not Path(rows[first].folder).exists()
            assert all(rows[i].pruned_at is None and Path(rows[i].folder).exists() for i in made)
            assert (shelf / "made-by-hand").exists()

            # Another worker making one holds the lock: this tick returns at once.
            db.session.get(BackupRecord, made[-1]).created_at = utcnow() - timedelta(hours=30)
            db.session.commit()
            with (shelf / ".backup.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                assert backup_tasks.tick() is None
            assert backup_tasks.tick() is not None
        finally:
            inst.app.config.update(BACKUP_DIR="", BACKUP_KEEP=0)
