"""The log's side of tlog-witness: request encoding and the checks on a witness's answer."""

from __future__ import annotations

import pytest

from ballistics.ledger import notes, witness_client
from ballistics.ledger.tlog_witness import AddCheckpointRequest, MalformedRequest, parse_size
from tests.ledger.helpers import ToyLog


def _cosigner(seed: int) -> notes.CosignatureSigner:
    return notes.CosignatureSigner(notes.Ed25519Signer("witness.example/w1", bytes([seed]) * 32),
                                   clock=lambda: 1_800_000_000)


def _answer(cosigner: notes.CosignatureSigner, signed: bytes) -> bytes:
    text = notes.parse_note(signed).text.encode()
    return notes.Signature(cosigner.name, cosigner.key_id, cosigner.sign(text)).line().encode()


def test_request_encoding_round_trips_the_spec_layout():
    log = ToyLog()
    log.grow(9)
    req = AddCheckpointRequest(5, tuple(log.proof(5, 9)), log.checkpoint(9))
    body = req.encode()
    head = body.split(b"\n\n")[0].split(b"\n")
    assert head[0] == b"old 5" and len(head) == 1 + len(req.proof)
    assert AddCheckpointRequest.parse(body) == req
    with pytest.raises(ValueError):
        AddCheckpointRequest(0, (bytes(32),) * 64, b"x").encode()
    with pytest.raises(MalformedRequest):
        AddCheckpointRequest.parse(b"old 5\n" + b"A" * 44 + b"\n\n" + log.checkpoint(9))


def test_only_good_cosignatures_from_the_configured_key_are_accepted():
    log = ToyLog()
    log.grow(3)
    signed = log.checkpoint(3)
    good, other = _cosigner(1), _cosigner(2)  # same name, different keys
    hub = witness_client.Witness("http://127.0.0.1:1", good.verifier())
    [sig] = witness_client.verified_cosignatures(hub, signed, _answer(good, signed))
    assert sig.name == "witness.example/w1"
    # A cosignature by another key under the same name is ignored: nothing verified remains.
    with pytest.raises(notes.UnverifiedNote):
        witness_client.verified_cosignatures(hub, signed, _answer(other, signed))
    # A cosignature over another checkpoint fails outright.
    with pytest.raises(notes.InvalidSignature):
        witness_client.verified_cosignatures(hub, signed, _answer(good, log.checkpoint(2)))
    # Unknown extra lines are ignored when a good one is present.
    both = _answer(other, signed) + _answer(good, signed)
    assert len(witness_client.verified_cosignatures(hub, signed, both)) == 1


def test_witness_configuration_is_checked():
    vkey = _cosigner(1).verifier().vkey()
    assert witness_client.Witness.from_vkey("http://hub.example/w/", vkey).url == \
        "http://hub.example/w"
    with pytest.raises(ValueError, match="http"):
        witness_client.Witness.from_vkey("file:///etc/passwd", vkey)
    log_vkey = ToyLog().vkey
    with pytest.raises(notes.NoteError, match="0x04"):
        witness_client.Witness.from_vkey("http://hub.example", log_vkey)


def test_an_unreachable_witness_is_reported_not_raised_raw():
    hub = witness_client.Witness("http://127.0.0.1:9", _cosigner(1).verifier())
    log = ToyLog()
    log.grow(1)
    with pytest.raises(witness_client.WitnessRefused) as exc:
        witness_client.add_checkpoint(hub, log.checkpoint(1), 0, [], timeout=2)
    assert exc.value.status == 0


def test_size_bodies():
    assert parse_size(b"12\n") == 12
    for bad in (b"12", b"012\n", b"-1\n", b"twelve\n"):
        with pytest.raises(ValueError):
            parse_size(bad)
