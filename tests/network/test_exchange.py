"""Physical exchange between partner labs (issue 12, item 8) across real separate processes:
a hub and two lab nodes, each with its own database, web process and worker. While the hub is
down lab A cannot send (the hub must confirm the partner first) and nothing is released; a lab
the hub does not know is refused. Lab A sends a cartridge case to lab B; the release reaches
lab B with its proof in lab A's ledger; lab B records the receipt, which references the
release, and lab A learns of it. Each side's event references the other's; then the hub
forgets the transfer's free text and keeps the references."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
import requests
from nacl.signing import SigningKey
from sqlalchemy import JSON, String, Text, func, select

from ballistics.core.context import acting_as
from ballistics.core.errors import Conflict
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.extensions import db
from ballistics.ledger import labkeys
from ballistics.ledger.models import LeafKind, LedgerLeaf
from ballistics.network import exchange_proof, hub, signing
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


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=30).status_code
    except requests.RequestException:
        return None


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
        # The port opens before gunicorn's workers have loaded the app: wait until it answers.
        wait_for(lambda: _status(f"{hub_.url}/hub/v1/labs"), lambda status: status == 401,
                 timeout=120, interval=1)
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

        # Once lab A's next pull acknowledges the receipt, the hub forgets the note and the
        # proofs (with both events' free text); the references stay.
        lab_a.task("network.pull")

        assert not [v for _, v in _hub_texts(hub_.app) if "Double cast follows" in v]
        assert _in(hub_, lambda: db.session.scalars(select(HubTransfer)).one().relayed_at)

def _signed(web, member: tuple, method: str, path: str, body: dict | None = None):
    """One request to the in-process hub, signed by ``member`` (code, key, key id)."""
    _, key, key_id = member
    url = f"http://localhost{path}"
    data = b"" if body is None else json.dumps(body).encode()
    headers = signing.sign(method, url, data, key_id=key_id, seed=bytes(key))
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = web.open(url, method=method, headers=headers,
                        data=data if body is not None else None)
    assert response.status_code < 300, (path, response.status_code, response.get_json())
    return response.get_json()


def _hub_texts(hub_app) -> list[tuple[str, str]]:
    """Every text, JSON and string value in every table of the hub's database."""
    found = []
    with hub_app.app_context():
        for table in db.metadata.sorted_tables:
            texts = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            for row in db.session.execute(select(*texts)) if texts else []:
                found += [(table.name, str(value)) for value in row if value is not None]
        db.session.remove()
    return found


def test_the_hub_forgets_a_transfers_free_text_once_the_receipt_reached_the_sender(
        hub_app, member):
    """Data minimisation for physical exchange: the sender's note, the seal number and the
    proofs (with the release's and the receipt's free-text reasons) are relayed, then dropped
    once the sender has pulled the receipt; the hub keeps the references that prove the relay,
    and its audit log never held them."""
    sender = member
    receiver_key = SigningKey.generate()
    receiver_code = "R" + uuid.uuid4().hex[:6].upper()
    with hub_app.app_context(), acting_as(None, None, "test"):
        receiver = (receiver_code, receiver_key, hub.add_member(
            receiver_code, "Receiver", bytes(receiver_key.verify_key)).keys[-1].key_id)
        db.session.commit()
        db.session.remove()
    tag = uuid.uuid4().hex[:10]
    seeded = {"note": f"note-{tag} contact Inspector Rivera", "seal": f"SEAL-{tag}",
              "release": f"release-reason-{tag}", "receipt": f"receipt-reason-{tag}"}
    transfer_id = uuid.uuid4().hex
    web = hub_app.test_client()
    _signed(web, sender, "POST", "/hub/v1/transfers", {
        "transfer_id": transfer_id, "receiver": receiver_code, "item_kind": "cartridge_case",
        "calibre": "9mm Luger", "seal_number": seeded["seal"], "note": seeded["note"],
        "proof": {"event": {"id": 41, "hash": "a" * 64,
                            "fields": {"reason": seeded["release"]}}, "leaf_index": 7}})
    [relayed] = _signed(web, receiver, "GET", "/hub/v1/inbox?after=0")
    assert relayed["kind"] == "transfer"
    assert relayed["body"]["note"] == seeded["note"]  # the receiver gets all of it
    assert relayed["body"]["seal_number"] == seeded["seal"]
    _signed(web, receiver, "POST", "/hub/v1/transfers/receipts", {
        "sender": sender[0], "transfer_id": transfer_id, "receipt_event_id": 9,
        "receipt_hash": "b" * 64, "receipt_leaf_index": 3,
        "proof": {"event": {"id": 9, "hash": "b" * 64, "fields": {"reason": seeded["receipt"]}},
                  "leaf_index": 3}})
    held = " ".join(value for _, value in _hub_texts(hub_app))
    assert all(s in held for s in seeded.values())  # until the sender has the receipt

    # The sender pulls the receipt (with its proof), then acknowledges it with its next pull.
    [receipt] = _signed(web, sender, "GET", "/hub/v1/inbox?after=0")
    assert receipt["kind"] == "receipt"
    assert receipt["body"]["proof"]["event"]["fields"]["reason"] == seeded["receipt"]
    assert _signed(web, sender, "GET", f"/hub/v1/inbox?after={receipt['id']}") == []

    left = [(table, value) for table, value in _hub_texts(hub_app)
            if any(s in value for s in seeded.values())]
    assert left == []
    with hub_app.app_context():  # what proves the relay stays
        row = db.session.scalar(select(HubTransfer).where(
            HubTransfer.transfer_id == transfer_id))
        assert (row.sender_code, row.receiver_code, row.status, row.release_hash,
                row.release_leaf_index, row.receipt_hash, row.receipt_leaf_index) == (
            sender[0], receiver_code, TransferStatus.RECEIVED, "a" * 64, 7, "b" * 64, 3)
        assert row.created_at and row.received_at and row.relayed_at
        db.session.remove()
    # Pulled again, the events are references only (a node skips them: it has them).
    [again] = _signed(web, receiver, "GET", "/hub/v1/inbox?after=0")
    assert again["body"] == {"transfer": row.id, "transfer_id": transfer_id,
                             "sender": sender[0], "receiver": receiver_code,
                             "release_hash": "a" * 64, "release_leaf_index": 7}
    [again] = _signed(web, sender, "GET", "/hub/v1/inbox?after=0")
    assert "proof" not in again["body"] and again["body"]["receipt_hash"] == "b" * 64
