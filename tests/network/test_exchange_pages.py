"""The exhibits page of a lab node: send an item in hand to a partner lab, and record the
arrival of a partner's exhibit against its proven release (the hub is not needed to render)."""

from __future__ import annotations

import hashlib
import re

import pytest
from nacl.signing import SigningKey
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.core import timeutil
from ballistics.core.context import acting_as
from ballistics.core.hashing import chain_hash
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.extensions import db
from ballistics.ledger import checkpoints, merkle, notes
from ballistics.ledger.leafdata import leaf_hash
from ballistics.network import exchange, exchange_proof, hub
from ballistics.network.models import ExhibitTransfer, LeadDirection, TransferStatus
from ballistics.outbox.models import OutboxMessage, Topic
from tests.sop.scenario import make_sop, qualify
from tests.support.labs import LabKit, make_lab
from tests.support.services import migrated_app
from tests.support.web import Api, Browser, field_errors, unescape

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("network-exchange-pages")

TRANSFER = "ab" * 16


@pytest.fixture(scope="module")
def node_app(tmp_path_factory):
    """A lab node whose hub is at a closed port: only ``hub_transport`` lets it reach one."""
    instance = tmp_path_factory.mktemp("xnode")
    app = migrated_app(f"sqlite:///{instance / 'node.sqlite'}", instance,
                       NETWORK_HUB_URL="http://127.0.0.1:9", NETWORK_LAB="XNODE")
    with app.app_context():
        app.extensions["test_kit"] = make_lab(code="XNODE")
        db.session.remove()
    return app


def _kit(app) -> LabKit:
    """The node's lab kit, its rows attached to this app context's session."""
    kit = app.extensions["test_kit"]
    kit.lab = db.session.merge(kit.lab)
    kit.users = {who: db.session.merge(user) for who, user in kit.users.items()}
    return kit


def _written() -> tuple:
    """What a send writes at the node: items released, custody events, transfers, outbox
    messages, audit entries."""
    return (db.session.scalar(select(func.count(Item.id)).where(Item.status == "released")),
            db.session.scalar(select(func.count(CustodyEvent.id))),
            db.session.scalar(select(func.count(ExhibitTransfer.id))),
            db.session.scalar(select(func.count(OutboxMessage.id))),
            db.session.scalar(select(func.count(AuditEntry.id))))


def test_a_send_the_hub_cannot_confirm_releases_nothing(node_app):
    """The hub is out of reach (a closed port): the send is refused, 503 on the API and an
    error on the page, and the item stays in the examiner's hands."""
    with node_app.app_context():
        kit = _kit(node_app)
        tech = Api(node_app.test_client(), kit, "tech")
        item = tech.receive(tech.new_case()["id"], "cartridge_case")
        before = _written()
        refused = tech.call("POST", f"/items/{item['id']}/exhibit-transfers", 503,
                            json={"partner": "LABP"})
        assert refused["error"] == "hub_unavailable", refused
        assert "cannot confirm partner lab LABP" in refused["message"]
        assert "nothing was released" in refused["message"]
        page = Browser(node_app, kit, "tech")
        _, _, flashed = page.submit("/network/exhibits", {"item_id": str(item["id"]),
                                                          "partner": "LABP"})
        assert flashed[0][0] == "error" and "cannot confirm" in flashed[0][1], flashed
        db.session.expire_all()
        assert _written() == before
        assert db.session.get(Item, item["id"]).status != "released"
        db.session.remove()


def test_a_partner_the_hub_does_not_list_is_refused_writing_nothing(node_app, hub_transport):
    with node_app.app_context():
        kit = _kit(node_app)
        tech = Api(node_app.test_client(), kit, "tech")
        item = tech.receive(tech.new_case()["id"], "cartridge_case")
        before = _written()
        # The hub does not know this node's key yet: it refuses the node itself.
        stranger = tech.call("POST", f"/items/{item['id']}/exhibit-transfers", 409,
                             json={"partner": "LABP"})
        assert stranger["error"] == "hub_refused", stranger
        assert "No lab is registered at the hub" in stranger["message"]
        assert _written() == before
        hub_transport("XNODE")
        hub_transport("LABP", public_key=bytes(SigningKey.generate().verify_key))
        hub_transport("LABR", public_key=bytes(SigningKey.generate().verify_key))
        assert exchange.partner_directory()["LABP"] == "Laboratory LABP"
        before = _written()
        unknown = tech.call("POST", f"/items/{item['id']}/exhibit-transfers", 422,
                            json={"partner": "LABZ"})
        assert list(unknown["fields"]) == ["partner"], unknown
        assert "LABZ is not an active member" in unknown["message"]
        # A revoked lab is no partner either: the hub's directory leaves it out.
        with hub_transport.hub_app.app_context(), acting_as(None, None, "test"):
            hub.revoke(hub.member("LABR"), "left the network")
            db.session.commit()
            db.session.remove()
        assert "LABR" not in exchange.partner_directory()
        revoked = tech.call("POST", f"/items/{item['id']}/exhibit-transfers", 422,
                            json={"partner": "LABR"})
        assert list(revoked["fields"]) == ["partner"], revoked
        page = Browser(node_app, kit, "tech")
        _, html, _ = page.submit("/network/exhibits", {"item_id": str(item["id"]),
                                                       "partner": "LABZ"})
        assert field_errors(html) == {"partner": "Not an active partner lab at the hub."}
        db.session.expire_all()
        assert _written() == before
        db.session.remove()


def _offered(html: str) -> list[int]:
    """The items the send form offers (its select's options)."""
    start = html.index('name="item_id"')
    select = html[start:html.index("</select>", start)]
    return [int(v) for v in re.findall(r'<option[^>]*value="(\d+)"', select)]


def _left_out(html: str) -> list[str]:
    """What the send form says of the items in hand it does not offer."""
    match = re.search(r'<ul class="muted" data-testid="send-left-out">(.*?)</ul>', html, re.S)
    return [unescape(li) for li in re.findall(r"<li>([^<]*)</li>", match.group(1))] \
        if match else []


def test_the_send_form_offers_only_items_that_can_be_sent_and_says_why_not_the_others(
        node_app):
    """An item in an open examination cannot be released: the form offered it, and choosing
    it ended in a refusal. Now it is left out, and the form says how many items in hand it
    leaves out and why, in the reader's language; the send still refuses such an item on its
    own, before the hub is asked (here the hub is out of reach: the refusal is the hold's)."""
    with node_app.app_context():
        kit = _kit(node_app)
        version = make_sop(kit, code="FA-31")
        qualify(kit, version, "examiner", today=timeutil.utcnow().date())
        db.session.commit()
        examiner = Api(node_app.test_client(), kit, "examiner")
        case = examiner.new_case()["id"]
        free = examiner.receive(case, "cartridge_case")
        examined = [examiner.receive(case, kind) for kind in ("cartridge_case", "test_fire")]
        gun = examiner.receive(case, "firearm")
        exam = examiner.post("/examinations", {"sop_version_id": version.id,
                                               "item_ids": [i["id"] for i in examined]})
        page = Browser(node_app, kit, "examiner")
        html = page.get("/network/exhibits")
        assert _offered(html) == [free["id"]]
        assert _left_out(html) == [
            "2 items in your hands are not offered: they are in open examinations (not yet "
            "released), which keep them in the lab.",
            "1 item in your hands is not offered: only cartridge cases, test fires, bullets and "
            "casts go to partner labs this way."]
        spanish = page.client.get("/network/exhibits", headers={"Accept-Language": "es"}).text
        assert _offered(spanish) == [free["id"]]
        assert _left_out(spanish) == [
            "2 indicios en sus manos no se ofrecen: están en exámenes abiertos (aún no "
            "emitidos), que los retienen en el laboratorio.",
            "1 indicio en sus manos no se ofrece: solo vainas, disparos de prueba, proyectiles "
            "y moldes van así a laboratorios asociados."]

        # The form is a convenience: the send refuses the examined item itself, writing
        # nothing, on the page (a stale or forged choice) and on the API.
        before = _written()
        words = f"it is in open examination {exam['id']} (in progress)"
        _, _, flashed = page.submit("/network/exhibits", {"item_id": str(examined[0]["id"]),
                                                          "partner": "LABP"})
        assert flashed[0][0] == "error" and words in flashed[0][1], flashed
        refused = examiner.call("POST", f"/items/{examined[1]['id']}/exhibit-transfers", 409,
                                json={"partner": "LABP"})
        assert refused["error"] == "item_in_examination" and words in refused["message"]
        # A firearm is not sent this way; the refusal names its kind in the reader's language
        # (it said "firearm" in Spanish too).
        for lang, kind in (("en", "Item %s is of kind firearm;"),
                           ("es", "El indicio %s es de tipo arma de fuego;")):
            answer = examiner.client.post(f"/api/v1/items/{gun['id']}/exhibit-transfers",
                                          json={"partner": "LABP"}, headers={
                                              **kit.headers("examiner"), "Accept-Language": lang})
            assert answer.status_code == 422, answer.get_json()
            assert kind % gun["barcode"] in answer.get_json()["message"], answer.get_json()
        db.session.expire_all()
        assert _written() == before
        db.session.remove()


def _partner_release(receiver: str, transfer: str = TRANSFER) -> dict:
    """What the hub relays from partner LABP: a release proven in LABP's ledger."""
    origin = "ledger.example/ledger/LABP"
    signer = notes.Ed25519Signer(origin, hashlib.sha256(b"LABP ledger").digest())
    fields = {"lab_id": 7, "item_id": 70, "seq": 3, "kind": "released", "from_user_id": 2,
              "from_location_id": None, "from_agency": None, "to_user_id": None,
              "to_location_id": None, "to_agency": f"Partner lab {receiver}", "actor_id": 2,
              "witness_id": None, "reason": "Sent", "occurred_at": "2026-11-26T10:00:00Z",
              "details": {"partner_lab": receiver, "transfer_id": transfer}}
    record = chain_hash("f" * 64, fields)
    tree = merkle.MemoryTree([merkle.leaf_hash(b"a"), leaf_hash("custody_event", 7, 700,
                                                                  record)])
    note = checkpoints.sign_checkpoint(checkpoints.Checkpoint(origin, 2, tree.root()),
                                       signer).encode().decode()
    proof = exchange_proof.build(lab_id=7, event_id=700, fields=fields, prev_hash="f" * 64,
                                 record_hash=record, leaf_index=1, checkpoint=note,
                                 inclusion_proof=tree.inclusion_proof(1, 2))
    return {"transfer_id": transfer, "sender": "LABP", "receiver": receiver,
            "item_kind": "cartridge_case", "calibre": "9mm Luger", "seal_number": "S-1",
            "note": "for your lead", "proof": proof,
            "log_vkeys": [signer.verifier().vkey()]}


def test_send_and_receive_exhibits_from_the_page(node_app, hub_transport):
    with node_app.app_context():
        hub_transport("XNODE")
        hub_transport("LABP", public_key=bytes(SigningKey.generate().verify_key))
        kit = _kit(node_app)
        client = node_app.test_client()
        tech = Api(client, kit, "tech")
        item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
        page = Browser(node_app, kit, "tech")
        assert f'{item["barcode"]} · cartridge case<' in page.get("/network/exhibits")
        spanish = page.client.get("/network/exhibits", headers={"Accept-Language": "es"}).text
        assert f'{item["barcode"]} · vaina<' in spanish  # the kind in the reader's language

        _, html, _ = page.submit("/network/exhibits", {"item_id": "", "partner": "LABP"})
        assert field_errors(html) == {"item_id": "Choose the item you send."}
        assert db.session.scalar(select(func.count(ExhibitTransfer.id))) == 0
        # The hub lists LABP as an active member: released.
        _, html, flashed = page.submit("/network/exhibits", {
            "item_id": str(item["id"]), "partner": "labp", "note": "Lead 3"})
        assert flashed[0][0] == "success" and "LABP" in flashed[0][1]
        sent = db.session.scalars(select(ExhibitTransfer)).one()
        assert (sent.direction, sent.status, sent.partner_code) == (
            LeadDirection.OUTGOING, TransferStatus.SENT, "LABP")
        release = db.session.get(CustodyEvent, sent.release_event_id)
        assert release.details == {"partner_lab": "LABP", "transfer_id": sent.transfer_id}
        assert db.session.get(Item, item["id"]).status == "released"
        assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.topic == Topic.HUB, OutboxMessage.name == "transfer.send")) == 1

        # A partner's exhibit, as the node pulled it from the hub: proven, then received.
        with acting_as(None, kit.lab.id, "test:pull"):
            incoming = exchange.incoming(kit.lab.id, "XNODE", _partner_release("XNODE"))
            db.session.commit()
        assert incoming.release_verified, incoming.verification
        case = tech.new_case()
        counts = select(func.count(CustodyEvent.id))
        before = db.session.scalar(counts)
        path = f"/network/exhibits/{incoming.id}/receipt"
        _, html, _ = page.submit(path, {"case_id": "", "reason": ""})
        assert "case_id" in field_errors(html)
        assert db.session.scalar(counts) == before
        _, html, flashed = page.submit(path, {"case_id": str(case["id"]), "reason": ""})
        assert flashed[0][0] == "success", flashed
        db.session.expire_all()
        received = db.session.get(ExhibitTransfer, incoming.id)
        # the new item is named as everywhere else: by its barcode, not its database id
        barcode = db.session.get(Item, received.item_id).barcode
        assert flashed[0][1] == f"Received from LABP as item {barcode}; LABP is told.", flashed
        assert received.status == TransferStatus.RECEIVED
        event = db.session.get(CustodyEvent, received.receipt_event_id)
        assert event.details["sender_release_hash"] == incoming.release_hash
        assert event.details["sender_leaf_index"] == 1
        assert event.details["transfer_id"] == TRANSFER
        assert db.session.scalar(counts) == before + 1
        # Twice is refused, beside nothing, and writes nothing.
        page.get("/network/exhibits")  # the form is gone; a stale post is refused
        _, html, flashed = page.submit(path, {"case_id": str(case["id"]), "reason": ""})
        assert flashed[0][0] == "error" and "already received" in flashed[0][1]
        assert f"(item {barcode})" in flashed[0][1], flashed
        assert db.session.scalar(counts) == before + 1

        # A later refusal by the hub (the partner revoked between the check and the delivery)
        # is on the page: the status, what it means, and the hub's reason.
        assert 'data-testid="transfer-refused"' not in page.get("/network/exhibits")
        with acting_as(None, kit.lab.id, "test:deliver"):
            exchange.refused("transfer.send", sent.id,
                             "hub refused (409 revoked_lab): Lab LABP is not an active member.")
            db.session.commit()
        row = _row(page.get("/network/exhibits"), sent.id)
        assert "refused" in row and 'data-testid="transfer-refused"' in row
        assert "Lab LABP is not an active member." in row
        db.session.remove()


def _row(html: str, transfer_row_id: int) -> str:
    start = html.index(f'<tr data-transfer="{transfer_row_id}">')
    return html[start:html.index("</tr>", start)]


def test_a_send_reaches_the_hub_from_a_node_on_sqlite(node_app, hub_transport):
    """Delivering a send seals the release and proves it in sessions of their own: the
    delivery's own session must not hold SQLite's write lock meanwhile (it did: the outbox
    message's attempt was flushed first, the sealer waited for it, and every delivery failed
    with "database is locked", so the partner never heard of the exhibit)."""
    from ballistics.network import node

    with node_app.app_context():
        hub_transport("XNODE")
        hub_transport("LABP", public_key=bytes(SigningKey.generate().verify_key))
        kit = _kit(node_app)
        tech = Api(node_app.test_client(), kit, "tech")
        item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
        sent = tech.post(f"/items/{item['id']}/exhibit-transfers", {"partner": "LABP"})
        lab_id = kit.lab.id
        db.session.remove()
        with acting_as(None, lab_id, "test:deliver"):
            node.deliver()  # earlier tests' messages go too; this module's hub is hub_app
        transfer = db.session.scalars(select(ExhibitTransfer).where(
            ExhibitTransfer.transfer_id == sent["transfer_id"])).one()
        assert transfer.status == TransferStatus.DELIVERED
        assert transfer.release_proof["leaf_index"] == transfer.release_leaf_index
        db.session.remove()


def test_an_unproven_release_offers_no_receipt_and_says_what_to_do(node_app):
    """The hub has no ledger key of the sender: the release cannot be proven, so receiving
    against it is refused; the page does not offer it (it did, and the click ended on a 409
    page) but says how to take the parcel in."""
    with node_app.app_context():
        kit = _kit(node_app)
        body = _partner_release("XNODE") | {"transfer_id": "cd" * 16, "log_vkeys": []}
        with acting_as(None, kit.lab.id, "test:pull"):
            incoming = exchange.incoming(kit.lab.id, "XNODE", body)
            db.session.commit()
        assert not incoming.release_verified
        page = Browser(node_app, kit, "tech")
        row = _row(page.get("/network/exhibits"), incoming.id)
        assert f"/network/exhibits/{incoming.id}/receipt" not in row
        assert 'data-testid="release-unproven"' in row
        assert "receive the parcel as an ordinary submission" in row
        spanish = page.client.get("/network/exhibits", headers={"Accept-Language": "es"}).text
        assert "reciba el paquete como una remisión ordinaria" in _row(spanish, incoming.id)
        db.session.remove()


def _spanish(page: Browser, path: str) -> str:
    response = page.client.get(path, headers={"Accept-Language": "es"})
    assert response.status_code == 200, (path, response.status_code)
    return response.text


def test_an_incoming_exhibits_proof_and_the_item_it_becomes_read_in_the_readers_language(
        node_app):
    """What checking a partner's release found, and the description written on the item
    received against it, were stored in English only, so a Spanish examiner read English.
    They are said in the reader's language; the API (and the stored columns) keep English."""
    with node_app.app_context():
        kit = _kit(node_app)
        transfer = "ef" * 16
        unproven = _partner_release("XNODE", "12" * 16) | {"log_vkeys": []}
        with acting_as(None, kit.lab.id, "test:pull"):
            incoming = exchange.incoming(kit.lab.id, "XNODE",
                                         _partner_release("XNODE", transfer))
            refused = exchange.incoming(kit.lab.id, "XNODE", unproven)
            db.session.commit()
        assert incoming.release_verified and not refused.release_verified
        english = ("in LABP's ledger at leaf 1 of its checkpoint of size 2, not cosigned by a "
                   "witness this lab trusts")
        assert incoming.verification == english
        unknown = ("not proven: the sender's ledger key is not known (the hub has none "
                   "registered), so its checkpoint cannot be checked")
        assert refused.verification == unknown
        page = Browser(node_app, kit, "tech")
        html = page.get("/network/exhibits")
        assert english in unescape(_row(html, incoming.id))
        assert unknown in unescape(_row(html, refused.id))
        spanish = _spanish(page, "/network/exhibits")
        assert ("en el registro sellado de LABP, hoja 1 de su punto de control de 2 entradas, "
                "sin cofirma de ningún testigo en el que confíe este laboratorio"
                in unescape(_row(spanish, incoming.id)))
        assert ("no probada: no se conoce la clave del registro sellado del remitente (el nodo "
                "regional no tiene ninguna registrada), así que no puede comprobarse su punto de "
                "control" in unescape(_row(spanish, refused.id)))
        # A transfer the hub passed on reads "transmitido", not "entregado": that is what the
        # release is called, and this one has not even arrived.
        row = _row(spanish, incoming.id)
        assert ">transmitido</span>" in row and "entregado" not in row
        assert "y nos llega la constancia de su recepción" in spanish
        # The API keeps the English.
        tech = Api(page.client, kit, "tech")
        assert tech.get(f"/exhibit-transfers/{incoming.id}")["verification"] == english

        # Received: the item's description is said in the reader's language as well.
        case = tech.new_case()
        _, _, flashed = page.submit(f"/network/exhibits/{incoming.id}/receipt",
                                    {"case_id": str(case["id"]), "reason": ""})
        assert flashed[0][0] == "success", flashed
        db.session.expire_all()
        item = db.session.get(Item, db.session.get(ExhibitTransfer, incoming.id).item_id)
        described = f"Exhibit from partner lab LABP (transfer {transfer}): for your lead"
        assert item.description == described
        assert tech.get(f"/items/{item.id}")["description"] == described
        assert described in unescape(page.get(f"/items/{item.id}"))
        dicho = f"Indicio del laboratorio asociado LABP (envío {transfer}): for your lead"
        for path in (f"/items/{item.id}", f"/items/{item.id}/report"):
            assert dicho in unescape(_spanish(page, path)), path
        # the case's list of items truncates it (at a word)
        assert "Indicio del laboratorio asociado LABP (envío" in unescape(
            _spanish(page, f"/cases/{case['id']}"))
        db.session.remove()
