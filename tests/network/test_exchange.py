"""Physical exchange between partner labs (issue 12, item 8) across real separate processes:
a hub and two lab nodes, each with its own database, web process and worker. While the hub is
down lab A cannot send (the hub must confirm the partner first) and nothing is released; a lab
the hub does not know is refused. Lab A sends a cartridge case to lab B; the release reaches
lab B with its proof in lab A's ledger; lab B records the receipt, which references the
release, and lab A learns of it. Each side's event references the other's."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from ballistics.core.context import acting_as
from ballistics.core.errors import Conflict
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.extensions import db
from ballistics.ledger import labkeys
from ballistics.ledger.models import LeafKind, LedgerLeaf
from ballistics.network import exchange_proof, hub
from ballistics.network.models import (
    ExhibitTransfer,
    HubEvent,
    HubMember,
    HubTransfer,
    TransferStatus,
)
from ballistics.outbox.models import OutboxMessage, Topic
from tests.comparisons.helpers import wait_for
from tests.network.cluster import Group, cluster

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


def _in(group: Group, fn):
    with group.app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _event(group: Group, event_id: int) -> CustodyEvent:
    return _in(group, lambda: db.session.get(CustodyEvent, event_id))


def _leaf(group: Group, event_id: int) -> int | None:
    return _in(group, lambda: db.session.scalar(select(LedgerLeaf.position).where(
        LedgerLeaf.kind == LeafKind.CUSTODY_EVENT, LedgerLeaf.source_id == event_id)))


def _counts(group: Group) -> tuple[int, int, int, int]:
    return _in(group, lambda: (
        db.session.scalar(select(func.count(Item.id))),
        db.session.scalar(select(func.count(CustodyEvent.id))),
        db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.topic == Topic.HUB)),
        db.session.scalar(select(func.count(ExhibitTransfer.id)).where(
            ExhibitTransfer.status == TransferStatus.RECEIVED))))


def test_an_exhibit_sent_to_a_partner_is_linked_across_both_ledgers(tmp_path):
    with cluster(tmp_path, hub_witness=True) as net:
        hub_, lab_a, lab_b = net["HUB"], net["LABA"], net["LABB"]
        case = lab_a.api("POST", "/cases", "tech", 201, json={"submitting_agency": "Police"})
        item = lab_a.api("POST", f"/cases/{case['id']}/items", "tech", 201, json={
            "kind": "cartridge_case", "from_agency": "Police", "calibre": "9mm Luger"})

        # The hub is down: it cannot confirm the partner, so nothing is released.
        hub_.stop_web()
        before = _counts(lab_a)
        down = lab_a.api("POST", f"/items/{item['id']}/exhibit-transfers", "tech", 503,
                         json={"partner": "LABB", "note": "Double cast follows"})
        assert down["error"] == "hub_unavailable" and "nothing was released" in down["message"]
        assert _counts(lab_a) == before
        assert lab_a.api("GET", f"/items/{item['id']}")["status"] != "released"
        hub_.start_web()
        # A lab the hub does not know is refused, naming the field; nothing written.
        unknown = lab_a.api("POST", f"/items/{item['id']}/exhibit-transfers", "tech", 422,
                            json={"partner": "LABZ"})
        assert list(unknown["fields"]) == ["partner"]
        assert _counts(lab_a) == before

        sent = lab_a.api("POST", f"/items/{item['id']}/exhibit-transfers", "tech", 201,
                         json={"partner": "LABB", "note": "Double cast follows"})
        assert sent["status"] == "sent" and sent["direction"] == "outgoing"
        release = _event(lab_a, sent["release_event_id"])
        assert release.kind == "released" and release.to_agency == "Partner lab LABB"
        assert release.details == {"partner_lab": "LABB", "transfer_id": sent["transfer_id"]}
        assert lab_a.api("GET", f"/items/{item['id']}")["status"] == "released"
        delivered = wait_for(
            lambda: (lab_a.task("network.deliver"),
                     lab_a.api("GET", f"/exhibit-transfers/{sent['id']}"))[1],
            lambda t: t["status"] != "sent", timeout=180, interval=2)
        assert delivered["status"] == "delivered", delivered
        release_leaf = _leaf(lab_a, release.id)
        assert delivered["release_leaf_index"] == release_leaf is not None

        # Lab B pulls the transfer; its node checked the release in lab A's ledger.
        lab_b.task("network.pull")
        [incoming] = lab_b.api("GET", "/exhibit-transfers")
        assert incoming["direction"] == "incoming" and incoming["partner_code"] == "LABA"
        assert incoming["release_hash"] == release.hash
        assert incoming["release_leaf_index"] == release_leaf
        assert incoming["release_verified"], incoming["verification"]
        assert "cosigned by" in incoming["verification"]  # the hub witnessed the checkpoint

        # A verifier on lab B's side checks the release's inclusion with lab A's ledger key
        # (the key lab A holds is the one the hub registered and relayed).
        vkey_a = _in(lab_a, lambda: labkeys.keyring("LABA", labkeys.origin_for("LABA"))
                     .signer().verifier().vkey())
        proof = _in(lab_b, lambda: db.session.get(ExhibitTransfer, incoming["id"]).release_proof)
        assert proof["log_vkeys"] == [vkey_a]
        check = exchange_proof.verify(proof, transfer_id=sent["transfer_id"], receiver="LABB",
                                      log_vkeys=[vkey_a])
        assert check.ok, check.reason
        forged = copy.deepcopy(proof)
        forged["event"]["fields"]["to_agency"] = "Partner lab LABC"
        assert not exchange_proof.verify(forged, transfer_id=sent["transfer_id"],
                                         receiver="LABB", log_vkeys=[vkey_a]).ok

        # The parcel arrives: lab B records the receipt into a case of its own.
        case_b = lab_b.api("POST", "/cases", "tech", 201, json={"submitting_agency": "LABA"})
        before = _counts(lab_b)
        lab_b.api("POST", f"/exhibit-transfers/{incoming['id']}/receipt", "admin", 403,
                  json={"case_id": case_b["id"]})
        lab_b.api("POST", f"/exhibit-transfers/{incoming['id']}/receipt", "tech", 404,
                  json={"case_id": case["id"] + 10_000})
        assert _counts(lab_b) == before  # refused: nothing written
        received = lab_b.api("POST", f"/exhibit-transfers/{incoming['id']}/receipt", "tech",
                             201, json={"case_id": case_b["id"]})
        assert received["status"] == "received" and received["item_id"]
        after = _counts(lab_b)
        assert after == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)
        # A duplicate receipt is refused and writes nothing.
        again = lab_b.api("POST", f"/exhibit-transfers/{incoming['id']}/receipt", "tech", 409,
                          json={"case_id": case_b["id"]})
        assert again["error"] == "already_received"
        assert _counts(lab_b) == after

        receipt = _event(lab_b, received["receipt_event_id"])
        assert receipt.kind == "received" and receipt.from_agency == "Partner lab LABA"
        assert receipt.details["transfer_id"] == sent["transfer_id"]
        assert receipt.details["sender_lab"] == "LABA"
        assert receipt.details["sender_release_event_id"] == release.id
        assert receipt.details["sender_release_hash"] == release.hash
        assert receipt.details["sender_leaf_index"] == release_leaf
        assert receipt.details["sender_checkpoint_size"] == check.checkpoint_size
        assert receipt.details["sender_checkpoint_root"] == check.checkpoint_root

        # The receipt goes back: lab A's transfer names lab B's receipt event and its leaf.
        wait_for(lambda: (lab_b.task("network.deliver"),
                          lab_b.api("GET", f"/exhibit-transfers/{incoming['id']}"))[1],
                 lambda t: t["receipt_leaf_index"] is not None, timeout=120, interval=2)
        back = wait_for(lambda: (lab_a.task("network.pull"),
                                 lab_a.api("GET", f"/exhibit-transfers/{sent['id']}"))[1],
                        lambda t: t["status"] == "received", timeout=120, interval=2)
        assert back["receipt_hash"] == receipt.hash
        assert back["receipt_event_id"] == receipt.id
        assert back["receipt_leaf_index"] == _leaf(lab_b, receipt.id)
        # ... and lab A checked that receipt in lab B's ledger, answering its release.
        assert back["receipt_verified"], back["verification"]

        # The hub kept the references of both events, and nothing else of the exhibit.
        def hub_side():
            row = db.session.scalars(select(HubTransfer)).one()
            return (row.status, row.release_hash, row.receipt_hash, row.release_leaf_index,
                    row.receipt_leaf_index)
        assert _in(hub_, hub_side) == ("received", release.hash, receipt.hash, release_leaf,
                                       back["receipt_leaf_index"])

        # At the hub a duplicate receipt is answered without a change; a different one refused.
        def duplicate_and_conflicting():
            with acting_as(None, None, "test"):
                member = db.session.scalar(select(HubMember).where(HubMember.code == "LABB"))
                events = db.session.scalar(select(func.count(HubEvent.id)))
                body = {"sender": "LABA", "transfer_id": sent["transfer_id"],
                        "receipt_event_id": receipt.id, "receipt_hash": receipt.hash,
                        "receipt_leaf_index": back["receipt_leaf_index"], "proof": {}}
                assert hub.record_receipt(member, body)[1] is False
                with pytest.raises(Conflict):
                    hub.record_receipt(member, body | {"receipt_hash": "c" * 64})
                db.session.rollback()
                return db.session.scalar(select(func.count(HubEvent.id))) - events
        assert _in(hub_, duplicate_and_conflicting) == 0
