"""The lab's signing keyring: made on first use, private on disk, rotated without losing the
ability to verify old checkpoints."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat

import pytest

from ballistics.ledger import checkpoints, keys, notes

ORIGIN = "ballistics.example/lab/DEMO"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def test_first_use_creates_one_private_key(tmp_path):
    path = tmp_path / "instance" / "ledger" / "signing-keys.json"
    ring = keys.Keyring.open(path, ORIGIN, now=T0)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    signer = ring.signer()
    assert signer.name == ORIGIN
    again = keys.Keyring.open(path, ORIGIN)
    assert again.signer().skey() == signer.skey()
    [public] = ring.public_keys()
    assert public.verifier.vkey() == signer.verifier().vkey()
    assert (public.valid_from, public.valid_until) == (T0, None)
    assert json.loads(path.read_text())["keys"][0]["valid_from"] == "2026-01-01T00:00:00Z"


def test_public_document_holds_no_private_key(tmp_path):
    ring = keys.Keyring.open(tmp_path / "k.json", ORIGIN, now=T0)
    doc = json.dumps(ring.public_document())
    assert "PRIVATE" not in doc
    assert ring.signer().seed.hex() not in doc
    loaded = keys.load_public_keys(json.loads(doc))
    assert [k.verifier.vkey() for k in loaded] == [ring.signer().verifier().vkey()]


def test_a_readable_keyring_is_refused(tmp_path):
    path = tmp_path / "k.json"
    keys.Keyring.open(path, ORIGIN)
    path.chmod(0o644)
    with pytest.raises(keys.KeyringError, match="chmod 600"):
        keys.Keyring.load(path)


def test_the_name_must_match(tmp_path):
    path = tmp_path / "k.json"
    keys.Keyring.open(path, ORIGIN)
    with pytest.raises(keys.KeyringError, match="named"):
        keys.Keyring.open(path, "ballistics.example/lab/OTHER")


def test_a_tampered_active_key_is_refused(tmp_path):
    path = tmp_path / "k.json"
    keys.Keyring.open(path, ORIGIN)
    data = json.loads(path.read_text())
    other = notes.Ed25519Signer.generate(ORIGIN)
    data["keys"][0]["skey"] = other.skey()  # the public key no longer matches
    path.write_text(json.dumps(data))
    with pytest.raises(keys.KeyringError, match="does not match"):
        keys.Keyring.load(path)


def test_rotation_keeps_old_checkpoints_verifiable(tmp_path):
    path = tmp_path / "k.json"
    ring = keys.Keyring.open(path, ORIGIN, now=T0)
    old = ring.signer()
    cp = checkpoints.Checkpoint(ORIGIN, 3, bytes(32))
    old_note = checkpoints.sign_checkpoint(cp, old)

    new = ring.rotate(now=T0 + 86400)
    assert new.verifier().vkey() != old.verifier().vkey()
    assert new.name == old.name == ORIGIN
    reloaded = keys.Keyring.load(path)
    assert reloaded.signer().skey() == new.skey()
    stored = json.loads(path.read_text())["keys"]
    assert [e["skey"] is None for e in stored] == [True, False]  # the old private key is gone
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    publics = reloaded.public_keys()
    assert [(k.valid_from, k.valid_until) for k in publics] == [(T0, T0 + 86400),
                                                                 (T0 + 86400, None)]
    verifiers = [k.verifier for k in publics]
    assert checkpoints.open_checkpoint(old_note, verifiers).checkpoint == cp
    new_note = checkpoints.sign_checkpoint(cp, new)
    assert checkpoints.open_checkpoint(new_note, verifiers).checkpoint == cp
    # Validity periods say which key was in force when a witness dated a checkpoint.
    assert publics[0].valid_at(T0 + 10) and not publics[0].valid_at(T0 + 86400)
    assert publics[1].valid_at(T0 + 86400) and not publics[1].valid_at(T0 + 10)


def test_rotation_must_move_forward_in_time(tmp_path):
    ring = keys.Keyring.open(tmp_path / "k.json", ORIGIN, now=T0)
    with pytest.raises(keys.KeyringError, match="after"):
        ring.rotate(now=T0)
    assert len(keys.Keyring.load(tmp_path / "k.json").public_keys()) == 1


def test_key_file_location_follows_the_environment(tmp_path):
    assert keys.default_key_file(tmp_path, {}) == tmp_path / "ledger" / "signing-keys.json"
    elsewhere = tmp_path / "secrets" / "lab.json"
    assert keys.default_key_file(tmp_path, {keys.ENV_KEY_FILE: str(elsewhere)}) == elsewhere


def _open_and_report(path: str, queue) -> None:
    queue.put(keys.Keyring.open(path, ORIGIN).signer().verifier().vkey())


def test_processes_starting_together_share_one_key(tmp_path):
    path = str(tmp_path / "k.json")
    ctx = multiprocessing.get_context("spawn")  # fork warns in threaded test runs
    queue = ctx.Queue()
    procs = [ctx.Process(target=_open_and_report, args=(path, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    vkeys = {queue.get(timeout=20) for _ in procs}
    for p in procs:
        p.join(timeout=20)
    assert len(vkeys) == 1
    assert vkeys == {keys.Keyring.load(path).signer().verifier().vkey()}
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".keyring-")]
