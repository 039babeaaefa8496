"""The ``flask ledger`` commands a lab operator uses, and the audit entries written before the
ledger: they still verify as the old per-lab chain and are sealed into the log too."""

from __future__ import annotations

import json

from sqlalchemy import text

from ballistics.audit.services import HASHED_FIELDS, hashed_payload, verify_audit_chain
from ballistics.core.hashing import GENESIS, chain_hash
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import CustodyEvent
from ballistics.extensions import db
from ballistics.ledger import court, export
from ballistics.ledger.keys import load_public_keys
from ballistics.ledger.models import LeafKind, LedgerLeaf
from ballistics.ledger.sealer import seal_all
from ballistics.ledger.verify import verify_lab
from tests.ledger.support import without_triggers
from tests.support.web import Api


def test_the_verifier_knows_exactly_the_fields_a_custody_event_hash_covers():
    assert {*CustodyEvent.HASHED_FIELDS, "occurred_at"} == court.EVENT_FIELDS


def test_operator_commands(app, client, lab, witness, tmp_path):
    witness.trust(lab.lab.id)
    Api(client, lab, "tech").receive(Api(client, lab, "tech").new_case()["id"])
    run = app.test_cli_runner().invoke
    code = ["--lab", lab.lab.code]
    sealed = run(args=["ledger", "seal", *code])
    assert sealed.exit_code == 0 and "sealed" in sealed.output
    made = run(args=["ledger", "checkpoint", *code])
    assert made.exit_code == 0 and "witness witness.test/w1: ok" in made.output, made.output
    status = run(args=["ledger", "status", *code])
    assert "latest witnessed:" in status.output and "ALARM" not in status.output
    verified = run(args=["ledger", "verify", *code])
    assert verified.exit_code == 0 and "entries verified" in verified.output, verified.output
    keys = json.loads(run(args=["ledger", "public-keys", *code]).output)
    assert load_public_keys(keys) and "skey" not in json.dumps(keys)
    origin, vkey = run(args=["ledger", "vkey", *code]).output.split()
    assert vkey.startswith(origin + "+")
    out = tmp_path / "checkpoint.json"
    assert run(args=["ledger", "export-checkpoint", *code, "-o", str(out)]).exit_code == 0
    report = export.verify_export(json.loads(out.read_text()), load_public_keys(keys),
                                  [witness.vkey])
    assert report.checkpoint.origin == origin and report.cosignatures
    # A lab without a witnessed checkpoint has nothing to export.
    assert run(args=["ledger", "export-checkpoint", "--lab", "NOSUCHLAB"]).exit_code != 0


def test_entries_of_the_old_chain_still_verify_and_are_sealed(app, lab):
    """Entries as the per-lab chain wrote them (seq 1, 2, ...; each linked to the previous),
    followed by entries written since: the audit verification checks both kinds, the ledger
    seals both, and an altered old entry is named by its place in the old chain."""
    conn = db.session.connection()
    prev, old_ids = GENESIS, []
    base = {"chain_key": lab.lab.id, "actor_id": None, "origin": "cli:import",
            "action": "insert", "object_type": "legacy", "before": None, "after": None}
    for seq in (1, 2, 3):
        entry = {**base, "seq": seq, "object_id": str(seq), "created_at": utcnow()}
        digest = chain_hash(prev, hashed_payload(entry))
        conn.execute(text("INSERT INTO audit_entries (chain_key, seq, actor_id, origin, action, "
                          "object_type, object_id, created_at, prev_hash, hash) VALUES "
                          "(:chain_key, :seq, :actor_id, :origin, :action, :object_type, "
                          ":object_id, :created_at, :prev, :hash)"),
                     {**{k: entry[k] for k in HASHED_FIELDS if k not in ("before", "after")},
                      "prev": prev, "hash": digest})
        old_ids.append(conn.execute(text("SELECT id FROM audit_entries WHERE hash = :h"),
                                    {"h": digest}).scalar())
        prev = digest
    db.session.commit()
    report = verify_audit_chain(db.session, lab.lab.id)
    assert report.ok and report.entries > 3
    seal_all(lab.lab.id)
    assert verify_lab(lab.lab.id, ask_witnesses=False).ok
    sealed = {leaf.source_id for leaf in db.session.query(LedgerLeaf).filter_by(
        lab_id=lab.lab.id, kind=LeafKind.AUDIT_ENTRY)}
    assert set(old_ids) <= sealed

    without_triggers(db.session.connection(), ["audit_entries"], lambda c: c.execute(
        text("UPDATE audit_entries SET origin = 'forged' WHERE id = :id"), {"id": old_ids[1]}))
    db.session.commit()
    broken = verify_audit_chain(db.session, lab.lab.id)
    assert not broken.ok and broken.first_bad_seq == 2 and broken.first_bad_id == old_ids[1]
