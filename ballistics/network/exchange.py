"""Physical exchange between partner labs: a cartridge case or a cast sent to a partner.

The sending lab releases the item to the partner: its custody chain gets a RELEASED event whose
hashed details name the partner lab and a transfer id. The release travels through the outbox
(never lost while the hub is away) with the proof that the event is in the sender's ledger
(:mod:`.exchange_proof`); the hub relays it, adding the sender's ledger key it registered. The
receiving node checks the proof as it pulls it, and when the parcel arrives its examiner
records the receipt: a RECEIVED event whose hashed details carry the sender's lab, the transfer
id, the release's event id, hash, leaf index and the checkpoint (size, root) it was proven
under. The receipt goes back the same way, with its own position in the receiver's ledger, so
each side's event references the other's.

Before anything is released the hub confirms the partner (:func:`confirm_partner`): a custody
record must not say an exhibit went to a lab it cannot go to.

Services flush; the request or task commits. A refused operation raises before writing.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.auth.models import User
from ballistics.core.errors import Conflict, Unavailable, Unprocessable
from ballistics.core.labels import label
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import Wording, english, said, wording
from ballistics.evidence import custody
from ballistics.evidence.chain import event_payload
from ballistics.evidence.holds import HoldKind, holds_on_many, refusing
from ballistics.evidence.models import Case, CustodyEvent, Item, ItemKind, ItemStatus
from ballistics.extensions import db
from ballistics.ledger import checkpointing, witnesses
from ballistics.ledger.models import LeafKind, LedgerLeaf
from ballistics.ledger.sealer import seal_all
from ballistics.ledger.store import StoredTree
from ballistics.network import client, exchange_proof
from ballistics.network.models import ExhibitTransfer, LeadDirection, TransferStatus
from ballistics.network.node import node_lab
from ballistics.network.permissions import RECEIVE_EXHIBITS, SEND_EXHIBITS
from ballistics.outbox.models import Topic
from ballistics.outbox.services import enqueue, post

#: what goes to a partner lab: fired cartridge cases and test fires, and casts of them
#: (recorded as "other"); firearms and ammunition cross borders by other procedures
SENDABLE = {ItemKind.CARTRIDGE_CASE, ItemKind.TEST_FIRE, ItemKind.BULLET, ItemKind.OTHER}
_CODE = re.compile(r"^[A-Z0-9-]{2,16}$")


def partner_agency(code: str) -> str:
    return f"Partner lab {code}"


# -- sending ---------------------------------------------------------------------------------


def partner_directory() -> dict[str, str]:
    """The hub's active member labs (code -> name), asked now; raises
    :class:`.client.HubUnavailable` or :class:`.client.HubRefused`."""
    return {lab["code"]: lab["name"] for lab in client.call("GET", "/hub/v1/labs", timeout=15)}


def confirm_partner(partner: str) -> str:
    """The partner's name as the hub lists it, or a refusal before anything is written.

    With the hub out of reach the send is refused (503), not released blind and left to the
    outbox: a release is an append-only custody event, and one naming a lab the hub later
    refuses (unknown, revoked) would stand in the chain for good, saying the exhibit went
    where it could not go, with a correcting event the only remedy. Sending a parcel is not
    urgent to the minute; the examiner keeps the item and tries again. The outbox still
    carries the transfer if the hub goes away between this check and the delivery."""
    try:
        labs = partner_directory()
    except client.HubUnavailable as exc:
        raise Unavailable(_("The hub cannot confirm partner lab %(code)s now; nothing was "
                            "released. Try again later.", code=partner),
                          code="hub_unavailable") from exc
    except client.HubRefused as exc:
        # The hub refused this node itself (unknown or revoked key, no hub configured):
        # asking again will not help until an administrator acts.
        raise Conflict(_("The hub did not confirm partner lab %(code)s (%(why)s); nothing "
                         "was released.", code=partner, why=exc.message or exc.code),
                       code="hub_refused") from exc
    if partner not in labs:
        raise Unprocessable(_("Lab %(code)s is not an active member of the network (the hub "
                              "does not know it, or revoked it); nothing was released.",
                              code=partner),
                            fields={"partner": [_("Not an active partner lab at the hub.")]})
    return labs[partner]


#: at most this many items are offered on the send form (the newest first)
OFFERED = 500


@dataclass(frozen=True)
class SendOffer:
    """What the send form offers: the items the actor could send now, and how many in their
    hands it leaves out, and why."""

    items: list[Item]
    #: items of a sendable kind that a hold keeps (hold kind -> how many), the release would
    #: refuse them
    held: dict[HoldKind, int]
    #: items in hand of a kind not sent this way (firearms, ammunition, magazines, fragments)
    other_kinds: int


def send_offer(actor: User) -> SendOffer:
    """The items ``actor`` could send to a partner lab now: in their hands, of a kind sent
    this way, nothing holding them that their release refuses (:mod:`ballistics.evidence.holds`,
    asked once for all of them). A convenience for the form: :func:`send_exhibit` judges
    again."""
    in_hand = lab_select(Item, actor).where(Item.holder_user_id == actor.id,
                                            Item.status == ItemStatus.IN_CUSTODY)
    candidates = db.session.scalars(in_hand.where(Item.kind.in_(SENDABLE))
                                    .order_by(Item.id.desc()).limit(OFFERED)).all()
    other_kinds = db.session.scalar(in_hand.with_only_columns(func.count(Item.id))
                                    .where(Item.kind.not_in(SENDABLE)))
    holds = holds_on_many(candidates)
    offered, held = [], Counter()
    for item in candidates:
        blocking = refusing(holds[item.id], "release", override=False)
        if blocking:
            held[blocking[0].kind] += 1
        else:
            offered.append(item)
    return SendOffer(offered, dict(held), other_kinds or 0)


def send_exhibit(actor: User, item: Item, *, partner: str, note: str = "",
                 expected_seq: int | None = None) -> ExhibitTransfer:
    """Release an item the actor holds to a partner lab and queue the transfer for the hub."""
    require_role(actor, SEND_EXHIBITS, _("send exhibits to partner labs"))
    lab = node_lab()
    if actor.lab_id != lab.id:
        raise Conflict(_("This node speaks for lab %(code)s at the hub, not yours.",
                         code=lab.code), code="not_the_node_lab")
    if not _CODE.fullmatch(partner) or partner == lab.code:
        raise Unprocessable(_("Name the partner lab by its network code (not your own)."),
                            fields={"partner": [_("A partner lab's code.")]})
    if item.kind not in SENDABLE:
        raise Unprocessable(_("Item %(item)s is of kind %(kind)s; only cartridge cases, test "
                              "fires, bullets and casts go to partner labs this way.",
                              item=item.barcode, kind=label(item.kind)),
                            fields={"item": [_("Not sent to partner labs.")]})
    # What the release would refuse (not in hand, an open examination holds it) is refused
    # before the hub is asked; the release judges it again after the hub answers.
    custody.refuse_release(actor, item, expected_seq)
    # Asked before anything is written (no lock held while the hub answers).
    confirm_partner(partner)
    seal = item.intact_seal.number if item.intact_seal is not None else ""
    transfer_id = uuid.uuid4().hex
    # The custody rules apply as for any release: in the actor's hands, nothing holding it.
    event = custody.release(actor, item, to_agency=partner_agency(partner),
                            reason=f"Sent to partner lab {partner} (transfer {transfer_id})",
                            expected_seq=expected_seq,
                            details={"partner_lab": partner, "transfer_id": transfer_id})
    transfer = ExhibitTransfer(
        lab_id=lab.id, direction=LeadDirection.OUTGOING, transfer_id=transfer_id,
        partner_code=partner, status=TransferStatus.SENT, item_kind=item.kind.value,
        calibre=item.calibre, seal_number=seal, note=note, item_id=item.id,
        release_event_id=event.id, release_hash=event.hash, created_by_id=actor.id)
    db.session.add(transfer)
    db.session.flush()
    post(Topic.HUB, "transfer.send", {"lab": lab.id, "transfer": transfer.id})
    enqueue("network.deliver")
    return transfer


def ledger_proof(lab_id: int, event_id: int) -> dict:
    """Seal the lab's log, anchor it under a checkpoint covering the event (sent to the
    witnesses now) and return the event's proof (:func:`.exchange_proof.build`). Runs in
    sessions of its own, like the court proof file."""
    seal_all(lab_id)
    with Session(db.engine) as session:
        position = session.scalar(select(LedgerLeaf.position).where(
            LedgerLeaf.kind == LeafKind.CUSTODY_EVENT, LedgerLeaf.source_id == event_id))
    if position is None:
        # Not sealed yet (the sealer refused or lags): try again later, nothing is lost.
        raise OSError(f"custody event {event_id} is not in the ledger yet")
    anchor = checkpointing.anchor(lab_id, position + 1)
    cp = anchor.checkpoint
    if cp is None or cp.size <= position:
        raise OSError(f"no checkpoint covers custody event {event_id}: {anchor.problem}")
    with Session(db.engine) as session:
        event = session.get(CustodyEvent, event_id)
        fields = event_payload(event)
        fields["kind"] = str(fields["kind"])
        path = StoredTree(session, lab_id, cp.size).inclusion_proof(position, cp.size)
        return exchange_proof.build(lab_id=lab_id, event_id=event.id, fields=fields,
                                    prev_hash=event.prev_hash, record_hash=event.hash,
                                    leaf_index=position, checkpoint=cp.signed_note().decode(),
                                    inclusion_proof=path)


def outbound(name: str, transfer_row_id: int) -> tuple[str, str, dict]:
    """The hub request for an outbox message about a transfer."""
    transfer = db.session.get(ExhibitTransfer, transfer_row_id)
    if name == "transfer.send":
        proof = ledger_proof(transfer.lab_id, transfer.release_event_id)
        transfer.release_leaf_index = proof["leaf_index"]
        transfer.release_proof = proof
        return "POST", "/hub/v1/transfers", {
            "transfer_id": transfer.transfer_id, "receiver": transfer.partner_code,
            "item_kind": transfer.item_kind, "calibre": transfer.calibre,
            "seal_number": transfer.seal_number, "note": transfer.note, "proof": proof}
    proof = ledger_proof(transfer.lab_id, transfer.receipt_event_id)
    transfer.receipt_leaf_index = proof["leaf_index"]
    return "POST", "/hub/v1/transfers/receipts", {
        "sender": transfer.partner_code, "transfer_id": transfer.transfer_id,
        "receipt_event_id": transfer.receipt_event_id, "receipt_hash": transfer.receipt_hash,
        "receipt_leaf_index": proof["leaf_index"], "proof": proof}


def delivered(name: str, transfer_row_id: int) -> None:
    transfer = db.session.get(ExhibitTransfer, transfer_row_id)
    if name == "transfer.send" and transfer.status == TransferStatus.SENT:
        transfer.status, transfer.last_error = TransferStatus.DELIVERED, ""


def refused(name: str, transfer_row_id: int, reason: str) -> None:
    """The hub refused the message after the send was confirmed (e.g. the partner was revoked
    in between, or the proof did not hold): the release stands in the append-only chain, and
    the transfer (status refused, with the hub's reason, on the exhibits page) says the partner
    will not hear of it, so the exhibit's return is recorded by a new custody event."""
    transfer = db.session.get(ExhibitTransfer, transfer_row_id)
    if name == "transfer.send":
        transfer.status = TransferStatus.REFUSED
    transfer.last_error = reason[:2000]


# -- receiving (the partner's node) ----------------------------------------------------------


def incoming(lab_id: int, lab_code: str, body: dict) -> ExhibitTransfer:
    """A partner's transfer as the hub relays it: its release proof is checked here, now."""
    check = exchange_proof.verify(body["proof"], transfer_id=body["transfer_id"],
                                  receiver=lab_code, log_vkeys=body.get("log_vkeys", []),
                                  cosigners=witnesses.verifiers())
    event = body["proof"].get("event", {}) if isinstance(body["proof"], dict) else {}
    transfer = ExhibitTransfer(
        lab_id=lab_id, direction=LeadDirection.INCOMING, transfer_id=body["transfer_id"],
        partner_code=body["sender"], status=TransferStatus.DELIVERED,
        item_kind=body["item_kind"], calibre=body.get("calibre", ""),
        seal_number=body.get("seal_number", ""), note=body.get("note", ""),
        release_event_id=event.get("id"), release_hash=event.get("hash", ""),
        release_leaf_index=body["proof"].get("leaf_index"), release_proof=body["proof"]
        | {"log_vkeys": body.get("log_vkeys", [])},
        release_verified=check.ok)
    _found(transfer, _described(body, check))
    db.session.add(transfer)
    return transfer


def _found(transfer: ExhibitTransfer, found: Wording) -> None:
    """What checking the transfer's proof found: in English, and as its wording for pages."""
    transfer.verification, transfer.verification_wording = english(found), found


def _described(body: dict, check: exchange_proof.ReleaseCheck) -> Wording:
    if not check.ok:
        return wording("not proven: %(why)s", why=check.why or check.reason)
    witnessed = (wording("cosigned by %(witnesses)s", witnesses=", ".join(check.witnessed))
                 if check.witnessed else wording("not cosigned by a witness this lab trusts"))
    return wording("in %(lab)s's ledger at leaf %(leaf)s of its checkpoint of size %(size)s, "
                   "%(witnessed)s", lab=body["sender"], leaf=body["proof"]["leaf_index"],
                   size=check.checkpoint_size, witnessed=witnessed)


def check_release(transfer: ExhibitTransfer) -> exchange_proof.ReleaseCheck:
    """Check an incoming transfer's release proof again (e.g. for a verifier or a court)."""
    proof = dict(transfer.release_proof)
    return exchange_proof.verify(proof, transfer_id=transfer.transfer_id,
                                 receiver=node_lab().code, log_vkeys=proof.get("log_vkeys", []),
                                 cosigners=witnesses.verifiers())


def receive_exhibit(actor: User, transfer: ExhibitTransfer, case: Case, *, reason: str = ""
                    ) -> ExhibitTransfer:
    """Record the arrival of a partner's exhibit into ``case``: a received event that
    references the sender's release, and the receipt queued for the sender."""
    require_role(actor, RECEIVE_EXHIBITS, _("receive partner exhibits"))
    if transfer.direction != LeadDirection.INCOMING:
        raise Conflict(_("This transfer is one we sent; the partner records its receipt."),
                       code="not_incoming")
    if transfer.status == TransferStatus.RECEIVED:
        raise Conflict(_("Transfer %(id)s was already received (item %(item)s).",
                         id=transfer.transfer_id,
                         item=db.session.get(Item, transfer.item_id).barcode),
                       code="already_received")
    if not transfer.release_verified:
        raise Conflict(_("The sender's release is not proven in its ledger (%(why)s); receive "
                         "the parcel as an ordinary submission and ask the sender.",
                         why=transfer.verification_said), code="release_unverified")
    check = check_release(transfer)
    if not check.ok:
        raise Conflict(_("The sender's release no longer verifies: %(why)s.",
                         why=said(check.why) if check.why else check.reason),
                       code="release_unverified")
    # Claim the transfer first: of two simultaneous receipts exactly one goes on.
    claimed = db.session.execute(update(ExhibitTransfer).where(
        ExhibitTransfer.id == transfer.id, ExhibitTransfer.status == TransferStatus.DELIVERED)
        .values(status=TransferStatus.RECEIVED)).rowcount
    if claimed != 1:
        raise Conflict(_("Transfer %(id)s was already received.", id=transfer.transfer_id),
                       code="already_received")
    details = {"transfer_id": transfer.transfer_id, "sender_lab": transfer.partner_code,
               "sender_release_event_id": transfer.release_event_id,
               "sender_release_hash": transfer.release_hash,
               "sender_leaf_index": transfer.release_leaf_index,
               "sender_checkpoint_size": check.checkpoint_size,
               "sender_checkpoint_root": check.checkpoint_root}
    item = custody.receive(
        actor, case, kind=transfer.item_kind, from_agency=partner_agency(transfer.partner_code),
        description=(
            wording("Exhibit from partner lab %(lab)s (transfer %(transfer)s): %(note)s",
                    lab=transfer.partner_code, transfer=transfer.transfer_id, note=transfer.note)
            if transfer.note else
            wording("Exhibit from partner lab %(lab)s (transfer %(transfer)s)",
                    lab=transfer.partner_code, transfer=transfer.transfer_id)),
        # in the hashed received event: in English, as every event's reason
        reason=reason or f"Received from partner lab {transfer.partner_code} (transfer "
                         f"{transfer.transfer_id})",
        calibre=transfer.calibre, event_details=details)
    event = db.session.scalar(select(CustodyEvent).where(CustodyEvent.item_id == item.id,
                                                         CustodyEvent.seq == 1))
    db.session.refresh(transfer)
    transfer.item_id, transfer.receipt_event_id, transfer.receipt_hash = (
        item.id, event.id, event.hash)
    transfer.received_at = event.occurred_at
    post(Topic.HUB, "transfer.receipt", {"lab": actor.lab_id, "transfer": transfer.id})
    enqueue("network.deliver")
    return transfer


def receipt_reported(lab_id: int, lab_code: str, body: dict) -> None:
    """The partner recorded the receipt of our exhibit (relayed by the hub)."""
    transfer = db.session.scalar(select(ExhibitTransfer).where(
        ExhibitTransfer.lab_id == lab_id, ExhibitTransfer.direction == LeadDirection.OUTGOING,
        ExhibitTransfer.partner_code == body["receiver"],
        ExhibitTransfer.transfer_id == body["transfer_id"]))
    if transfer is None:
        return
    check = exchange_proof.verify_receipt(
        body["proof"], transfer_id=transfer.transfer_id, sender=lab_code,
        release_hash=transfer.release_hash, log_vkeys=body.get("log_vkeys", []),
        cosigners=witnesses.verifiers())
    proven = (body["proof"].get("event", {}).get("hash") == body["receipt_hash"]
              if isinstance(body["proof"], dict) else False)
    transfer.status = TransferStatus.RECEIVED
    transfer.receipt_event_id, transfer.receipt_hash = body["receipt_event_id"], body[
        "receipt_hash"]
    transfer.receipt_leaf_index = body["receipt_leaf_index"]
    transfer.receipt_proof = body["proof"] | {"log_vkeys": body.get("log_vkeys", [])}
    transfer.receipt_verified = check.ok and proven
    _found(transfer, wording(
        "receipt in %(lab)s's ledger at leaf %(leaf)s of its checkpoint of size %(size)s",
        lab=body["receiver"], leaf=body["receipt_leaf_index"], size=check.checkpoint_size)
        if transfer.receipt_verified
        else wording("receipt not proven: %(why)s",
                     why=check.why or wording("its hash differs from the proof")))
    transfer.received_at = utcnow()


def transfer_in_lab(actor: User, transfer_id: int) -> ExhibitTransfer:
    return get_in_lab(ExhibitTransfer, transfer_id, actor, what="exhibit transfer")
