"""The witness on the wire: another process (gunicorn via ``python -m ballistics.witness
serve``), real HTTP on loopback, its own SQLite database; the log side is the project's client.

Acceptance (issue 10): a witness that has seen checkpoint N refuses a checkpoint N+1 that is
not an extension of N; it refuses unknown keys, answers 409 with its size to a stale ``old``,
and keeps its state across a restart.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ballistics.ledger import checkpoints, merkle, notes, witness_client
from ballistics.witness import store
from ballistics.witness.service import origin_hash
from tests.ledger.helpers import ORIGIN, ToyLog

REPO = Path(__file__).resolve().parents[2]
WITNESS_NAME = "witness.example/hub"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "ballistics.witness", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


class WitnessProcess:
    def __init__(self, db_url: str, key_file: Path, log_file: Path) -> None:
        self.db_url, self.key_file, self.log_file = db_url, key_file, log_file
        self.port = _free_port()
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


@pytest.fixture
def served(tmp_path):
    key_file = tmp_path / "witness.key"
    vkey = _cli("init-key", "--key", str(key_file), "--name", WITNESS_NAME).strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    db_url = f"sqlite:///{tmp_path / 'witness.sqlite'}"
    log = ToyLog()
    log.grow(20)
    _cli("add-log", "--db", db_url, ORIGIN, log.vkey)
    proc = WitnessProcess(db_url, key_file, tmp_path / "witness.log")
    proc.start()
    assert proc.vkey == vkey
    yield proc, log
    proc.stop()


def test_witness_on_the_wire(served):
    proc, log = served
    hub = witness_client.Witness.from_vkey(proc.url, proc.vkey)

    # Checkpoint N = 8 is cosigned, and the cosignature verifies with the witness key alone.
    [cosig] = witness_client.add_checkpoint(hub, log.checkpoint(8), 0, [])
    assert cosig.name == WITNESS_NAME
    cosigned = notes.parse_note(log.checkpoint(8)).with_signatures([cosig])
    signed = checkpoints.open_checkpoint(cosigned.encode(), [log.signer.verifier()],
                                         [hub.verifier])
    assert signed.checkpoint.size == 8 and abs(signed.cosignatures()[0][1] - time.time()) < 60

    # N + 1 that is not an extension of N: entry 2 rewritten, everything recomputed and signed
    # with the lab's real key; the proof is genuine within the forged tree. Refused, 422.
    forged = ToyLog(origin=ORIGIN, seed=log.signer.seed)
    forged.tree = merkle.MemoryTree(
        [merkle.leaf_hash(b"rewritten") if i == 2 else log.tree.node(0, i) for i in range(9)])
    with pytest.raises(witness_client.WitnessRefused) as refused:
        witness_client.add_checkpoint(hub, forged.checkpoint(9), 8, forged.proof(8, 9))
    assert refused.value.status == 422
    assert "not an extension" in refused.value.message

    # A checkpoint signed by a key the witness does not trust for this origin: 403.
    impostor = notes.Ed25519Signer.generate(ORIGIN)
    with pytest.raises(witness_client.WitnessRefused) as refused:
        witness_client.add_checkpoint(hub, log.checkpoint(9, impostor), 8, log.proof(8, 9))
    assert refused.value.status == 403
    # An origin it does not follow at all: 404 (tlog-witness).
    stranger = ToyLog(origin="elsewhere.example/log")
    stranger.grow(2)
    with pytest.raises(witness_client.WitnessRefused) as refused:
        witness_client.add_checkpoint(hub, stranger.checkpoint(2), 0, [])
    assert refused.value.status == 404

    # A stale old size: 409 with the witness's size, as text/x.tlog.size ...
    with pytest.raises(witness_client.WitnessConflict) as conflict:
        witness_client.add_checkpoint(hub, log.checkpoint(12), 3, log.proof(3, 12))
    assert conflict.value.known_size == 8
    # ... which submit() uses to retry with the right proof.
    cosigs = witness_client.submit(hub, log.checkpoint(12), lambda old: log.proof(old, 12),
                                   old_size=3)
    assert [c.name for c in cosigs] == [WITNESS_NAME]

    # A witness that has seen a larger tree is not asked to go back.
    with pytest.raises(witness_client.WitnessConflict) as conflict:
        witness_client.submit(hub, log.checkpoint(10), lambda old: log.proof(old, 10))
    assert conflict.value.known_size == 12

    # Restart: the state (size 12, its root) and the history survive in the witness database.
    proc.stop()
    proc.start()
    with urllib.request.urlopen(f"{proc.url}/{origin_hash(ORIGIN)}/checkpoint") as resp:
        latest = checkpoints.open_checkpoint(resp.read(), [log.signer.verifier()],
                                             [hub.verifier])
    assert latest.checkpoint.size == 12 and latest.checkpoint.root_hash == log.tree.root(12)
    with pytest.raises(witness_client.WitnessConflict) as conflict:
        witness_client.add_checkpoint(hub, log.checkpoint(20), 0, [])
    assert conflict.value.known_size == 12
    with pytest.raises(witness_client.WitnessRefused) as refused:
        witness_client.add_checkpoint(hub, forged.checkpoint(9), 12, [])
    assert refused.value.status == 400  # old 12 > size 9
    witness_client.add_checkpoint(hub, log.checkpoint(20), 12, log.proof(12, 20))

    listing = _cli("list-logs", "--db", proc.db_url)
    assert f"{ORIGIN}\tsize 20" in listing and log.vkey in listing


def test_cli_refuses_a_cosignature_key_as_a_log_key(tmp_path):
    signer = store.create_key(tmp_path / "k", WITNESS_NAME)
    cosig_vkey = notes.CosignatureSigner(signer).verifier().vkey()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "ballistics.witness", "add-log", "--db",
                           f"sqlite:///{tmp_path / 'w.sqlite'}", ORIGIN, cosig_vkey],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "type 0x01" in done.stderr
