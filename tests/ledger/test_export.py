"""The export-checkpoint file: verifiable later by an outside party with public keys only."""

from __future__ import annotations

import json

import pytest

from ballistics.ledger import export, keys, notes
from tests.ledger.helpers import ORIGIN, ToyLog

T0 = 1_767_225_600


def _witnessed(log: ToyLog, size: int, witness: notes.CosignatureSigner, when: int) -> bytes:
    signed = notes.parse_note(log.checkpoint(size))
    cosig = notes.Signature(witness.name, witness.key_id,
                            witness.sign(signed.text.encode(), timestamp=when))
    return signed.with_signatures([cosig]).encode()


@pytest.fixture
def setup():
    log = ToyLog(seed=bytes(range(32)))
    log.grow(30)
    witness = notes.CosignatureSigner(notes.Ed25519Signer("witness.example/w1", bytes(32)))
    lab_key = keys.PublicKey(log.signer.verifier(), T0)
    return log, witness, lab_key


def test_an_export_round_trips_through_json(setup):
    log, witness, lab_key = setup
    doc = export.export_checkpoint(_witnessed(log, 12, witness, T0 + 60), [lab_key],
                                   [witness.verifier().vkey()], exported_at=T0 + 120)
    again = json.loads(json.dumps(doc))
    report = export.verify_export(again, [lab_key], [witness.verifier().vkey()])
    assert (report.checkpoint.size, report.checkpoint.root_hash) == (12, log.tree.root(12))
    assert report.cosignatures == (("witness.example/w1", T0 + 60),)
    assert report.log_key == log.vkey
    # The checkpoint field is a plain C2SP note other tools can read.
    assert notes.parse_note(again["checkpoint"]).text.startswith(ORIGIN + "\n12\n")


def test_any_changed_byte_of_the_checkpoint_is_refused(setup):
    log, witness, lab_key = setup
    doc = export.export_checkpoint(_witnessed(log, 12, witness, T0 + 60), [lab_key],
                                   [witness.verifier().vkey()], exported_at=T0 + 120)
    text = doc["checkpoint"]
    for i in range(len(text)):
        if text[i] in "\n\u2014 ":
            continue  # structure characters: covered by the malformed-note tests
        other = "A" if text[i] != "A" else "B"
        changed = dict(doc, checkpoint=text[:i] + other + text[i + 1:])
        with pytest.raises((export.ExportError, notes.NoteError)):
            export.verify_export(changed, [lab_key], [witness.verifier().vkey()])


def test_summary_fields_must_match_the_signed_text(setup):
    log, witness, lab_key = setup
    doc = export.export_checkpoint(_witnessed(log, 12, witness, T0 + 60), [lab_key],
                                   [witness.verifier().vkey()], exported_at=T0 + 120)
    with pytest.raises(export.ExportError, match="differ"):
        export.verify_export(dict(doc, size=13), [lab_key], [witness.verifier().vkey()])


def test_pinned_keys_beat_the_keys_in_the_file(setup):
    _, witness, lab_key = setup
    forger = ToyLog(seed=bytes(range(1, 33)))  # someone else's key under the lab's name
    forger.grow(12)
    doc = export.export_checkpoint(_witnessed(forger, 12, witness, T0 + 60),
                                   [keys.PublicKey(forger.signer.verifier(), T0)],
                                   [witness.verifier().vkey()], exported_at=T0 + 120)
    export.verify_export(doc)  # self-consistent with the keys it carries ...
    with pytest.raises(export.ExportError, match="does not verify"):
        export.verify_export(doc, [lab_key], [witness.verifier().vkey()])  # ... not the lab's


def test_cosignatures_required_and_dated_inside_the_key_period(setup):
    log, witness, lab_key = setup
    unwitnessed = export.export_checkpoint(log.checkpoint(12), [lab_key], [], T0)
    with pytest.raises(export.ExportError, match="0 witness cosignature"):
        export.verify_export(unwitnessed, [lab_key], [witness.verifier().vkey()])
    retired = keys.PublicKey(log.signer.verifier(), T0, T0 + 30)
    late = _witnessed(log, 12, witness, T0 + 60)
    with pytest.raises(export.ExportError, match="in force"):
        export.export_checkpoint(late, [retired], [witness.verifier().vkey()], T0 + 120)
    doc = export.export_checkpoint(late, [lab_key], [witness.verifier().vkey()], T0 + 120)
    with pytest.raises(export.ExportError, match="in force"):
        export.verify_export(doc, [retired], [witness.verifier().vkey()])


def test_two_exports_prove_the_log_only_grew(setup):
    log, witness, lab_key = setup
    vk = [witness.verifier().vkey()]
    older = export.verify_export(export.export_checkpoint(
        _witnessed(log, 7, witness, T0 + 10), [lab_key], vk, T0 + 11), [lab_key], vk)
    newer = export.verify_export(export.export_checkpoint(
        _witnessed(log, 30, witness, T0 + 20), [lab_key], vk, T0 + 21), [lab_key], vk)
    export.verify_extension(older, newer, log.proof(7, 30))
    with pytest.raises(export.ExportError, match="does not extend"):
        export.verify_extension(older, newer, log.proof(6, 30))
