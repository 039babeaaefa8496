"""The release proof a receiving lab checks (pure): the release event's fields, its leaf in the
sender's log, the inclusion proof and the checkpoint signed with the sender's ledger key."""

from __future__ import annotations

import copy
import hashlib

from ballistics.core.hashing import chain_hash
from ballistics.ledger import checkpoints, merkle, notes
from ballistics.ledger.leafdata import leaf_hash
from ballistics.network import exchange_proof

ORIGIN = "ledger.example/ledger/LABA"
TRANSFER = "0" * 31 + "7"


def _proof(receiver: str = "LABB") -> tuple[dict, str]:
    signer = notes.Ed25519Signer(ORIGIN, hashlib.sha256(b"lab A ledger key").digest())
    fields = {"lab_id": 3, "item_id": 11, "seq": 4, "kind": "released", "from_user_id": 5,
              "from_location_id": None, "from_agency": None, "to_user_id": None,
              "to_location_id": None, "to_agency": f"Partner lab {receiver}", "actor_id": 5,
              "witness_id": None, "reason": f"Sent to partner lab {receiver}",
              "details": {"partner_lab": receiver, "transfer_id": TRANSFER},
              "occurred_at": "2026-11-26T11:00:00.000000Z"}
    record = chain_hash("a" * 64, fields)
    tree = merkle.MemoryTree([merkle.leaf_hash(f"other {n}".encode()) for n in range(6)])
    tree.append(leaf_hash("custody_event", 3, 99, record))
    tree.extend(merkle.leaf_hash(f"later {n}".encode()) for n in range(3))
    note = checkpoints.sign_checkpoint(checkpoints.Checkpoint(ORIGIN, tree.size, tree.root()),
                                       signer).encode().decode()
    proof = exchange_proof.build(lab_id=3, event_id=99, fields=fields, prev_hash="a" * 64,
                                 record_hash=record, leaf_index=6, checkpoint=note,
                                 inclusion_proof=tree.inclusion_proof(6, tree.size))
    return proof, signer.verifier().vkey()


def test_a_genuine_release_verifies_from_the_receivers_side():
    proof, vkey = _proof()
    check = exchange_proof.verify(proof, transfer_id=TRANSFER, receiver="LABB", log_vkeys=[vkey])
    assert check.ok, check.reason
    assert check.checkpoint_size == 10 and check.checkpoint_root


def test_any_change_or_the_wrong_key_fails_with_a_reason():
    proof, vkey = _proof()
    other = notes.Ed25519Signer(ORIGIN, hashlib.sha256(b"someone else").digest())
    cases = {
        "fields": lambda p: p["event"]["fields"].update(reason="Sent elsewhere"),
        "hash": lambda p: p["event"].update(hash="b" * 64),
        "index": lambda p: p.update(leaf_index=5),
        "path": lambda p: p["inclusion_proof"].reverse(),
        "event id": lambda p: p["event"].update(id=98),
        "checkpoint": lambda p: p.update(checkpoint=p["checkpoint"].replace("\n10\n", "\n11\n")),
    }
    for name, tamper in cases.items():
        forged = copy.deepcopy(proof)
        tamper(forged)
        check = exchange_proof.verify(forged, transfer_id=TRANSFER, receiver="LABB",
                                      log_vkeys=[vkey])
        assert not check.ok and check.reason, name
    assert not exchange_proof.verify(proof, transfer_id=TRANSFER, receiver="LABC",
                                     log_vkeys=[vkey]).ok
    assert not exchange_proof.verify(proof, transfer_id="1" * 32, receiver="LABB",
                                     log_vkeys=[vkey]).ok
    wrong = exchange_proof.verify(proof, transfer_id=TRANSFER, receiver="LABB",
                                  log_vkeys=[other.verifier().vkey()])
    assert not wrong.ok and "UnverifiedNote" in wrong.reason
    assert not exchange_proof.verify(proof, transfer_id=TRANSFER, receiver="LABB",
                                     log_vkeys=[]).ok
    assert not exchange_proof.verify({"format": "x"}, transfer_id=TRANSFER, receiver="LABB",
                                     log_vkeys=[vkey]).ok
    assert not exchange_proof.verify({}, transfer_id=TRANSFER, receiver="LABB",
                                     log_vkeys=[vkey]).ok


def test_a_receipt_is_checked_against_the_release_it_answers():
    signer = notes.Ed25519Signer("ledger.example/ledger/LABB",
                                 hashlib.sha256(b"lab B ledger key").digest())
    fields = {"lab_id": 4, "item_id": 1, "seq": 1, "kind": "received", "reason": "arrived",
              "details": {"transfer_id": TRANSFER, "sender_lab": "LABA",
                          "sender_release_hash": "d" * 64, "sender_leaf_index": 6},
              "occurred_at": "2026-11-26T12:00:00.000000Z"}
    record = chain_hash("0" * 64, fields)
    tree = merkle.MemoryTree([leaf_hash("custody_event", 4, 12, record)])
    note = checkpoints.sign_checkpoint(
        checkpoints.Checkpoint(signer.name, 1, tree.root()), signer).encode().decode()
    proof = exchange_proof.build(lab_id=4, event_id=12, fields=fields, prev_hash="0" * 64,
                                 record_hash=record, leaf_index=0, checkpoint=note,
                                 inclusion_proof=[])
    vkey = signer.verifier().vkey()
    assert exchange_proof.verify_receipt(proof, transfer_id=TRANSFER, sender="LABA",
                                         release_hash="d" * 64, log_vkeys=[vkey]).ok
    assert not exchange_proof.verify_receipt(proof, transfer_id=TRANSFER, sender="LABA",
                                             release_hash="e" * 64, log_vkeys=[vkey]).ok
    # A receipt is not a release: the release check refuses it.
    assert not exchange_proof.verify(proof, transfer_id=TRANSFER, receiver="LABB",
                                     log_vkeys=[vkey]).ok
