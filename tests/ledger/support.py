"""Helpers for the ledger tests that use the app: a witness in process or as a process of its
own, owner-level tampering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update

from ballistics.auth.models import Lab
from ballistics.core.hashing import GENESIS
from ballistics.evidence.chain import event_payload
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.extensions import db
from ballistics.ledger import labkeys, merkle, notes, witnesses
from ballistics.ledger.leaves import leaf_hash
from ballistics.ledger.models import LeafKind, LedgerLeaf, LedgerLog, LedgerNode
from ballistics.ledger.sealer import ensure_log
from ballistics.witness import store
from ballistics.witness.service import Witness
from tests.support.services import REPO, free_port


class InProcessWitness:
    """A real ``Witness`` (own database and key) plugged into the app as a ``LocalWitness``."""

    def __init__(self, app: Flask, home: Path, name: str = "witness.test/w1") -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.app = app
        self.service = Witness(store.open_database(f"sqlite:///{home / 'witness.sqlite'}"),
                               notes.CosignatureSigner(store.create_key(home / "key", name)))
        self.plugged = witnesses.LocalWitness(self.service)
        witnesses.register(app, self.plugged)

    @property
    def vkey(self) -> str:
        return self.service.vkey()

    def trust(self, lab_id: int) -> str:
        """Add the lab's log (origin and current key) to the witness's allowlist."""
        ensure_log(lab_id)
        origin = db.session.get(LedgerLog, lab_id).origin
        code = db.session.scalar(select(Lab.code).where(Lab.id == lab_id))
        self.service.add_log(origin, labkeys.keyring(code, origin).signer().verifier().vkey())
        return origin

    def unregister(self) -> None:
        self.app.extensions["ledger_witnesses"].remove(self.plugged)


def witness_cli(*args: str) -> str:
    """``python -m ballistics.witness ARGS`` (init-key, add-log, ...); its output."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "ballistics.witness", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


class WitnessProcess:
    """The shipped witness as another process (``python -m ballistics.witness serve``, gunicorn
    inside), real HTTP on loopback, its own database."""

    def __init__(self, db_url: str, key_file: Path, log_file: Path) -> None:
        self.db_url, self.key_file, self.log_file = db_url, key_file, log_file
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ballistics.witness", "serve", "--db", self.db_url,
             "--key", str(self.key_file), "--port", str(self.port), "--workers", "1"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the witness exited: {self.log_file.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1) as resp:
                    self.vkey = resp.read().decode().strip()
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"the witness did not answer: {self.log_file.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def without_triggers(conn, tables: list[str], statements) -> None:
    """Run ``statements(conn)`` as the database owner would, with the append-only triggers of
    ``tables`` lifted for the moment."""
    if conn.dialect.name == "postgresql":
        for t in tables:
            conn.execute(text(f"ALTER TABLE {t} DISABLE TRIGGER USER"))
        statements(conn)
        for t in tables:
            conn.execute(text(f"ALTER TABLE {t} ENABLE TRIGGER USER"))
        return
    saved = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                              f"tbl_name IN ({', '.join(repr(t) for t in tables)})")).all()
    for name, _sql in saved:
        conn.execute(text(f"DROP TRIGGER {name}"))
    statements(conn)
    for _name, sql in saved:
        conn.execute(text(sql))


def rewrite_as_owner(event_id: int, reason: str, *, checkpoints_too: bool = False) -> None:
    """The owner edition of tampering: change one custody event, then recompute everything the
    database holds so that it agrees with itself again -- the item's later hashes and chain head,
    the leaves of those events, every tree node and the log's right edge. With
    ``checkpoints_too`` the lab's own copies of checkpoints and cosignatures go as well."""
    event = db.session.get(CustodyEvent, event_id)
    item = db.session.get(Item, event.item_id)
    later = db.session.scalars(select(CustodyEvent).where(CustodyEvent.item_id == item.id)
                               .order_by(CustodyEvent.seq)).all()
    lab_id = item.lab_id
    for e in later:  # edited below as plain objects, written back with plain SQL
        db.session.expunge(e)

    def statements(conn) -> None:
        prev = GENESIS
        from ballistics.core.hashing import chain_hash

        for e in later:
            if e.id == event_id:
                e.reason = reason
            payload = event_payload(e)
            new_hash = chain_hash(prev, payload)
            conn.execute(update(CustodyEvent.__table__).where(CustodyEvent.id == e.id)
                         .values(reason=e.reason, prev_hash=prev, hash=new_hash))
            conn.execute(update(LedgerLeaf.__table__).where(
                LedgerLeaf.kind == LeafKind.CUSTODY_EVENT, LedgerLeaf.source_id == e.id)
                .values(leaf_hash=leaf_hash("custody_event", lab_id, e.id, new_hash)))
            prev = new_hash
        conn.execute(update(Item.__table__).where(Item.id == item.id)
                     .values(custody_head=prev))
        _rebuild_tree(conn, lab_id)
        if checkpoints_too:
            conn.execute(text("DELETE FROM ledger_cosignatures WHERE checkpoint_id IN (SELECT id "
                              "FROM ledger_checkpoints WHERE lab_id = :lab)"), {"lab": lab_id})
            conn.execute(text("DELETE FROM ledger_checkpoints WHERE lab_id = :lab"),
                         {"lab": lab_id})

    conn = db.session.connection()
    without_triggers(conn, ["custody_events", "ledger_leaves", "ledger_nodes",
                             "ledger_checkpoints", "ledger_cosignatures"], statements)
    db.session.commit()


def _rebuild_tree(conn, lab_id: int) -> None:
    """Recompute every tree node and the log's right edge from the stored leaves (the owner's
    last step: the database then agrees with itself)."""
    leaves = [h for (h,) in conn.execute(select(LedgerLeaf.leaf_hash).where(
        LedgerLeaf.lab_id == lab_id).order_by(LedgerLeaf.position))]
    tree = merkle.MemoryTree()
    edge = merkle.CompactRange()
    rows = []
    for h in leaves:
        rows += [{"lab_id": lab_id, "level": n.level, "idx": n.index, "hash": n.hash}
                 for n in edge.append(h)[1:]]
        tree.append(h)
    conn.execute(delete(LedgerNode.__table__).where(LedgerNode.lab_id == lab_id))
    if rows:
        conn.execute(LedgerNode.__table__.insert(), rows)
    conn.execute(update(LedgerLog.__table__).where(LedgerLog.lab_id == lab_id)
                 .values(edge=[h.hex() for h in edge.hashes]))
    assert edge.root() == tree.root()


def rewrite_audit_entry_as_owner(entry_id: int, after: dict) -> None:
    """The owner edition for an audit entry: change its ``after``, recompute its hash, its leaf,
    every tree node and the right edge of the log that sealed it."""
    from ballistics.audit.models import AuditEntry
    from ballistics.audit.services import hashed_payload
    from ballistics.core.hashing import chain_hash

    table = AuditEntry.__table__
    conn = db.session.connection()
    row = dict(conn.execute(select(table).where(table.c.id == entry_id)).one()._mapping)
    leaf = conn.execute(select(LedgerLeaf.lab_id).where(
        LedgerLeaf.kind == LeafKind.AUDIT_ENTRY, LedgerLeaf.source_id == entry_id)).one()
    row["after"] = after
    new_hash = chain_hash(row["prev_hash"], hashed_payload(row))

    def statements(conn) -> None:
        conn.execute(update(table).where(table.c.id == entry_id)
                     .values(after=after, hash=new_hash))
        conn.execute(update(LedgerLeaf.__table__).where(
            LedgerLeaf.kind == LeafKind.AUDIT_ENTRY, LedgerLeaf.source_id == entry_id)
            .values(leaf_hash=leaf_hash("audit_entry", row["chain_key"], entry_id, new_hash)))
        _rebuild_tree(conn, leaf.lab_id)

    without_triggers(conn, ["audit_entries", "ledger_leaves", "ledger_nodes"], statements)
    db.session.commit()
