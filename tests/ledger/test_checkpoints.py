"""Checkpoints: signed with the lab's key (kept outside the database), cosigned by the witness,
every one kept; key rotation; the periodic timer; a witness that is away."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from sqlalchemy import func, select

from ballistics.extensions import db
from ballistics.ledger import checkpointing, checkpoints, labkeys, notes, witnesses
from ballistics.ledger.models import LedgerCheckpoint, LedgerCosignature, LedgerLog, LedgerWitness
from ballistics.ledger.sealer import seal_all
from ballistics.ledger.verify import verify_lab
from tests.support.services import free_port
from tests.support.web import Api


def _grow(client, lab) -> None:
    api = Api(client, lab, "tech")
    api.receive(api.new_case()["id"])
    seal_all(lab.lab.id)


def test_checkpoints_are_signed_witnessed_and_every_one_kept(app, client, lab, witness):
    origin = witness.trust(lab.lab.id)
    _grow(client, lab)
    first = checkpointing.make_checkpoint(lab.lab.id)
    log = db.session.get(LedgerLog, lab.lab.id)
    assert first.size == log.size > 0
    # The key is a 0600 file outside the database, named for the lab.
    key_file = Path(app.config["LEDGER_KEY_DIR"]) / f"{lab.lab.code}.json"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = labkeys.public_keys(lab.lab.code, origin)
    signed = checkpoints.open_checkpoint(first.note, [k.verifier for k in keys])
    assert (signed.checkpoint.origin, signed.checkpoint.size) == (origin, first.size)
    assert not first.witnessed_by(keys)

    [outcome] = checkpointing.witness(lab.lab.id, first)
    assert outcome.ok, outcome
    cosigned = checkpointing.latest_witnessed(db.session, lab.lab.id, keys)
    assert cosigned.id == first.id and cosigned.witnessed_by(keys)[0][0] == "witness.test/w1"
    # No growth, no new checkpoint; growth, a new one; both kept, both witnessed.
    assert checkpointing.make_checkpoint(lab.lab.id).id == first.id
    _grow(client, lab)
    second = checkpointing.make_checkpoint(lab.lab.id)
    assert second.size > first.size
    assert checkpointing.witness(lab.lab.id, second)[0].ok
    assert db.session.scalar(select(func.count()).select_from(LedgerCheckpoint).where(
        LedgerCheckpoint.lab_id == lab.lab.id)) == 2
    assert db.session.scalar(select(func.count()).select_from(LedgerCosignature)) >= 2
    assert db.session.get(LedgerWitness, (lab.lab.id, witness.vkey)).size == second.size
    # The witness kept both and holds the second as its latest.
    assert [size for size, _, _ in witness.service.history(origin)] == [first.size, second.size]
    result = verify_lab(lab.lab.id)
    assert result.ok and result.last_consistent == second.size, result.problems


def test_a_rotated_key_signs_new_checkpoints_and_old_ones_still_verify(app, client, lab,
                                                                      witness):
    origin = witness.trust(lab.lab.id)
    _grow(client, lab)
    old = checkpointing.make_checkpoint(lab.lab.id)
    assert checkpointing.witness(lab.lab.id, old)[0].ok
    time.sleep(1.1)  # validity periods have one-second resolution
    new_key = labkeys.keyring(lab.lab.code, origin).rotate()
    _grow(client, lab)
    new = checkpointing.make_checkpoint(lab.lab.id)
    assert new.vkey == new_key.verifier().vkey() != old.vkey
    # The witness does not trust the new key yet: refused (403), no alarm, retried later.
    [refused] = checkpointing.witness(lab.lab.id, new)
    assert not refused.ok and not refused.alarm and "403" in refused.message
    state = db.session.get(LedgerWitness, (lab.lab.id, witness.vkey))
    assert state.failures == 1 and state.next_attempt_at is not None and not state.alarm
    assert checkpointing.witness(lab.lab.id, new) == []  # backing off
    witness.service.add_log(origin, new_key.verifier().vkey())
    assert checkpointing.witness(lab.lab.id, new, force=True)[0].ok
    keys = labkeys.public_keys(lab.lab.code, origin)
    assert len(keys) == 2 and keys[0].valid_until is not None
    result = verify_lab(lab.lab.id)
    assert result.ok and result.last_consistent == new.size, result.problems
    assert any(f"size {old.size} witnessed" in line for line in result.lines)


def test_the_timer_checkpoints_only_when_due(app, client, lab, witness, monkeypatch):
    witness.trust(lab.lab.id)
    _grow(client, lab)
    monkeypatch.setitem(app.config, "LEDGER_CHECKPOINT_SECONDS", 3600)
    checkpointing.periodic(lab.lab.id)  # none yet: the first one is made at once
    first = checkpointing.latest(db.session, lab.lab.id)
    assert first is not None and first.cosignatures
    _grow(client, lab)
    checkpointing.periodic(lab.lab.id)  # grown, but the last one is recent
    assert checkpointing.latest(db.session, lab.lab.id).id == first.id
    monkeypatch.setitem(app.config, "LEDGER_CHECKPOINT_SECONDS", 0)
    checkpointing.periodic(lab.lab.id)
    latest = checkpointing.latest(db.session, lab.lab.id)
    assert latest.size > first.size and latest.cosignatures


def test_an_unreachable_witness_fails_softly_and_the_report_says_not_witnessed(app, client,
                                                                              lab):
    away = witnesses.HttpWitness(
        f"http://127.0.0.1:{free_port()}",
        notes.CosignatureSigner(notes.Ed25519Signer.generate("away.test/w")).verifier().vkey(),
        timeout=1)
    witnesses.register(app, away)
    try:
        _grow(client, lab)
        info = checkpointing.make_checkpoint(lab.lab.id)
        [outcome] = checkpointing.witness(lab.lab.id, info)
        assert not outcome.ok and not outcome.alarm and "did not answer" in outcome.message
        item = Api(client, lab, "tech").receive(Api(client, lab, "tech").new_case()["id"])
        from tests.support.web import Browser

        page = Browser(app, lab, "tech").get(f"/items/{item['id']}/report")
        assert 'data-ledger="unanchored"' in page and "No event has been altered" not in page
        assert "no independent witness has cosigned" in page
    finally:
        app.extensions["ledger_witnesses"].remove(away)
