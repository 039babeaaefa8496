"""The hub witnesses every member lab's custody ledger: it countersigns the lab's checkpoints
and refuses one that rewrites what it already witnessed, on the wire (separate processes)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from ballistics.auth.models import Lab
from ballistics.extensions import db
from ballistics.ledger import checkpoints, labkeys, merkle, witness_client
from ballistics.ledger.models import LedgerCheckpoint, LedgerCosignature
from tests.comparisons.helpers import wait_for
from tests.network.cluster import cluster

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


def test_the_hub_witnesses_a_labs_ledger_and_refuses_a_rewrite(tmp_path):
    with cluster(tmp_path, labs=("LABA",), hub_witness=True) as net:
        hub, lab = net["HUB"], net["LABA"]
        case = lab.api("POST", "/cases", "tech", 201, json={"submitting_agency": "Police"})
        for n in range(3):
            lab.api("POST", f"/cases/{case['id']}/items", "tech", 201, json={
                "kind": "cartridge_case", "from_agency": "Police", "description": f"c{n}"})
        with lab.app.app_context():
            lab_id = db.session.scalar(select(Lab.id).where(Lab.code == "LABA"))
            db.session.remove()
        # The lab's worker seals and checkpoints; the hub (another process) cosigns.
        witnessed = wait_for(lambda: (lab.task("ledger.checkpoint", lab_id), _hub_size(hub))[1],
                             lambda size: size > 0, timeout=120, interval=1)
        with lab.app.app_context():
            cosigned = db.session.scalars(
                select(LedgerCheckpoint.size).join(
                    LedgerCosignature, LedgerCosignature.checkpoint_id == LedgerCheckpoint.id)
                .where(LedgerCheckpoint.lab_id == lab_id)).all()
            assert witnessed in cosigned  # the lab keeps the hub's cosignature
            origin = labkeys.origin_for("LABA")
            signer = labkeys.keyring("LABA", origin).signer()
            db.session.remove()

        # The owner rewrites history and signs it with the lab's own key: a tree of one more
        # entry whose first ones differ. Its proof holds inside the forged tree only.
        forged = merkle.MemoryTree()
        for n in range(witnessed + 1):
            forged.append(merkle.leaf_hash(hashlib.sha256(f"forged {n}".encode()).digest()))
        note = checkpoints.sign_checkpoint(
            checkpoints.Checkpoint(origin, forged.size, forged.root()), signer).encode()
        hub_witness = witness_client.Witness.from_vkey(
            f"{hub.url}/hub/witness", hub.app.extensions["hub_witness"].vkey())
        with pytest.raises(witness_client.WitnessRefused) as refused:
            witness_client.add_checkpoint(hub_witness, note, witnessed,
                                          forged.consistency_proof(witnessed, forged.size))
        assert refused.value.status == 422
        assert _hub_size(hub) == witnessed  # the hub still holds the genuine checkpoint


def _hub_size(hub) -> int:
    with hub.app.app_context():
        logs = hub.app.extensions["hub_witness"].logs()
    return max((log.size for log in logs if log.origin.endswith("/ledger/LABA")), default=0)
