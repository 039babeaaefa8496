"""The witness core, in process, rule by rule of C2SP tlog-witness (the wire test runs the same
logic in another process: test_witness_http.py)."""

from __future__ import annotations

import pytest

from ballistics.ledger import checkpoints, merkle, notes
from ballistics.ledger.tlog_witness import AddCheckpointRequest
from ballistics.witness import store
from ballistics.witness.app import make_blueprint
from ballistics.witness.service import Witness, WitnessError, origin_hash
from tests.ledger.helpers import ORIGIN, ToyLog

WITNESS_NAME = "witness.example/w1"


@pytest.fixture
def log() -> ToyLog:
    log = ToyLog(seed=bytes(range(32)))
    log.grow(40)
    return log


@pytest.fixture
def witness(tmp_path, log) -> Witness:
    signer = store.create_key(tmp_path / "witness.key", WITNESS_NAME)
    w = Witness(store.open_database(f"sqlite:///{tmp_path / 'witness.sqlite'}"),
                notes.CosignatureSigner(signer, clock=lambda: 1_800_000_000))
    w.add_log(ORIGIN, log.vkey)
    return w


def _body(log: ToyLog, old: int, size: int, proof=None, signed: bytes | None = None) -> bytes:
    proof = log.proof(old, size) if proof is None else proof
    return AddCheckpointRequest(old, tuple(proof), signed or log.checkpoint(size)).encode()


def _status(witness: Witness, body: bytes) -> int:
    try:
        witness.add_checkpoint(body)
    except WitnessError as exc:
        return exc.status
    return 200


def test_cosigns_the_first_checkpoint_and_every_extension(witness, log):
    [cosig] = witness.add_checkpoint(_body(log, 0, 10))
    assert cosig.name == WITNESS_NAME
    signed = log.checkpoint(10)
    opened = checkpoints.open_checkpoint(
        notes.parse_note(signed).with_signatures([cosig]), [log.signer.verifier()],
        [notes.parse_verifier_key(witness.vkey())])
    assert opened.cosignatures() == [(WITNESS_NAME, 1_800_000_000)]

    witness.add_checkpoint(_body(log, 10, 17))
    witness.add_checkpoint(_body(log, 17, 17))  # resubmitting the same tree is fine
    witness.add_checkpoint(_body(log, 17, 40))
    [info] = witness.logs()
    assert (info.size, info.root_hash) == (40, log.tree.root(40))
    assert [size for size, _, _ in witness.history(ORIGIN)] == [10, 17, 17, 40]
    # The monitoring copy carries the log's signature and the witness's cosignature.
    latest = witness.latest_checkpoint(origin_hash(ORIGIN))
    signed = checkpoints.open_checkpoint(latest, [log.signer.verifier()],
                                         [notes.parse_verifier_key(witness.vkey())])
    assert signed.checkpoint.size == 40 and len(signed.cosignatures()) == 1


def test_a_stale_old_size_answers_409_with_the_known_size(witness, log):
    witness.add_checkpoint(_body(log, 0, 10))
    with pytest.raises(WitnessError) as exc:
        witness.add_checkpoint(_body(log, 0, 20))
    assert (exc.value.status, exc.value.known_size) == (409, 10)
    with pytest.raises(WitnessError) as exc:
        witness.add_checkpoint(_body(log, 5, 20))
    assert (exc.value.status, exc.value.known_size) == (409, 10)


def test_a_rewritten_history_is_refused_422_and_kept_as_evidence(witness, log):
    witness.add_checkpoint(_body(log, 0, 10))
    # The owner alters entry 3 and recomputes everything: the new tree is self-consistent,
    # signed with the right key, and its proof is a genuine proof *within the forged tree*.
    forged = ToyLog(seed=bytes(range(32)), salt="")
    forged.grow(12)
    forged.tree = merkle.MemoryTree(
        [merkle.leaf_hash(b"rewritten") if i == 3 else log.tree.node(0, i) for i in range(12)])
    body = _body(forged, 10, 12)
    with pytest.raises(WitnessError) as exc:
        witness.add_checkpoint(body)
    assert exc.value.status == 422
    assert "not an extension of the cosigned checkpoint 10" in exc.value.message
    [(reason, detail)] = witness.refusals(ORIGIN)
    assert reason == "inconsistent" and "12" in detail
    assert witness.logs()[0].size == 10  # nothing moved
    # A correct extension is still accepted afterwards.
    witness.add_checkpoint(_body(log, 10, 12))


def test_unknown_origin_is_404_and_unknown_or_bad_keys_are_403(witness, log):
    stranger = ToyLog(origin="elsewhere.example/log")
    stranger.grow(3)
    assert _status(witness, _body(stranger, 0, 3)) == 404
    impostor = notes.Ed25519Signer.generate(ORIGIN)  # same name, unknown key
    assert _status(witness, _body(log, 0, 5, signed=log.checkpoint(5, impostor))) == 403
    signed = log.checkpoint(5)
    tampered = signed.replace(b"\n5\n", b"\n6\n")  # known key, signature no longer matches
    assert _status(witness, _body(log, 0, 6, signed=tampered)) == 403
    assert witness.logs()[0].size == 0


def test_key_rotation_at_the_witness(witness, log):
    new_signer = notes.Ed25519Signer.generate(ORIGIN)
    assert _status(witness, _body(log, 0, 5, signed=log.checkpoint(5, new_signer))) == 403
    witness.add_log(ORIGIN, new_signer.verifier().vkey())
    assert _status(witness, _body(log, 0, 5, signed=log.checkpoint(5, new_signer))) == 200
    assert witness.remove_key(ORIGIN, log.vkey)
    assert _status(witness, _body(log, 5, 8)) == 403


@pytest.mark.parametrize("body", [
    b"",
    b"old 0\n",
    b"old 00\n\nx",
    b"old -1\n\nx",
    b"new 0\n\nx",
    b"old 0\nnot base64!\n\nx",
    b"old 0\nAAAA\n\nx",  # a 3-byte hash
    b"old 0\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\nx",  # 64 lines
    b"old 0\n\nnot a note",
    b"old 0\n\norigin\n1\n\n\xe2\x80\x94 k AAAAAAAA\n",  # a note whose text is no checkpoint
])
def test_malformed_requests_are_400(witness, body):
    assert _status(witness, body) == 400


def test_old_larger_than_the_checkpoint_is_400(witness, log):
    witness.add_checkpoint(_body(log, 0, 10))
    assert _status(witness, _body(log, 10, 8, proof=[])) == 400


def test_the_422_rules(witness, log):
    empty_ok = checkpoints.sign_checkpoint(
        checkpoints.Checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT), log.signer).encode()
    empty_bad = checkpoints.sign_checkpoint(
        checkpoints.Checkpoint(ORIGIN, 0, log.tree.root(1)), log.signer).encode()
    assert _status(witness, _body(log, 0, 0, proof=[], signed=empty_bad)) == 422
    assert _status(witness, _body(log, 0, 0, proof=[], signed=empty_ok)) == 200
    # Old size 0 with a proof.
    assert _status(witness, _body(log, 0, 4, proof=log.tree.consistency_proof(2, 4))) == 422
    witness.add_checkpoint(_body(log, 0, 4))
    # Same size, another root.
    other = checkpoints.sign_checkpoint(
        checkpoints.Checkpoint(ORIGIN, 4, log.tree.root(5)), log.signer).encode()
    assert _status(witness, _body(log, 4, 4, proof=[], signed=other)) == 422
    # A proof for other sizes, and a truncated proof.
    assert _status(witness, _body(log, 4, 9, proof=log.tree.consistency_proof(3, 9))) == 422
    assert _status(witness, _body(log, 4, 9, proof=log.proof(4, 9)[:-1])) == 422
    assert [r for r, _ in witness.refusals(ORIGIN)] == [
        "bad_empty_tree", "inconsistent", "inconsistent", "inconsistent", "inconsistent"]


def test_two_racing_requests_from_one_old_size_cannot_both_win(tmp_path, log):
    # The clock runs after every check and before the update: make the rival land right there.
    signer = store.create_key(tmp_path / "k", WITNESS_NAME)
    sessions = store.open_database(f"sqlite:///{tmp_path / 'race.sqlite'}")
    rival_status = []

    def clock() -> int:
        if not rival_status:
            rival_status.append(None)
            rival_status[0] = _status(witness, _body(log, 0, 30))
        return 1_800_000_000

    witness = Witness(sessions, notes.CosignatureSigner(signer, clock=clock))
    witness.add_log(ORIGIN, log.vkey)
    with pytest.raises(WitnessError) as exc:
        witness.add_checkpoint(_body(log, 0, 10))
    assert rival_status == [200]
    assert (exc.value.status, exc.value.known_size) == (409, 30)
    assert witness.logs()[0].size == 30  # the size never went back to 10
    assert [s for s, _, _ in witness.history(ORIGIN)] == [30]


def test_blueprint_status_codes_and_content_types(witness, log):
    from flask import Flask

    app = Flask(__name__)
    app.register_blueprint(make_blueprint(witness))
    client = app.test_client()
    ok = client.post("/add-checkpoint", data=_body(log, 0, 10))
    assert ok.status_code == 200 and ok.data.startswith("\u2014 witness.example/w1 ".encode())
    stale = client.post("/add-checkpoint", data=_body(log, 0, 12))
    assert (stale.status_code, stale.mimetype, stale.data) == (409, "text/x.tlog.size", b"10\n")
    assert client.post("/add-checkpoint", data=b"old x").status_code == 400
    got = client.get(f"/{origin_hash(ORIGIN)}/checkpoint")
    assert got.status_code == 200 and got.data.startswith(ORIGIN.encode() + b"\n10\n")
    assert client.get(f"/{origin_hash('nope')}/checkpoint").status_code == 404
    assert client.get("/../checkpoint").status_code == 404
    assert client.get("/").data.decode().strip() == witness.vkey()
