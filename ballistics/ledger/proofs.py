"""The court proof file for one item: built from the database, signed with the lab key, and
checked with the same offline verifier a court runs (``court.verify_document``) before the
report page states anything.

Getting there seals the lab's new rows and, if no witnessed checkpoint covers the item's last
event yet, signs one and sends it to the witnesses at once, so a report never waits for the
periodic checkpoint. This runs in sessions of its own, before the request writes anything.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballistics.auth.models import Lab, User
from ballistics.core.timeutil import utcnow
from ballistics.evidence.chain import event_payload
from ballistics.evidence.models import CustodyEvent, Item, StorageLocation
from ballistics.extensions import db
from ballistics.ledger import checkpointing, court, labkeys, witnesses
from ballistics.ledger.checkpointing import Anchor
from ballistics.ledger.leafdata import LEAF_FORMAT
from ballistics.ledger.models import LeafKind, LedgerLeaf, LedgerLog
from ballistics.ledger.sealer import seal_all
from ballistics.ledger.store import StoredTree


@dataclass(frozen=True)
class CustodyProof:
    data: bytes
    check: court.CourtCheck
    anchor: Anchor
    filename: str


def custody_proof(actor: User, item: Item) -> CustodyProof:
    lab_id = item.lab_id
    with Session(db.engine, expire_on_commit=False) as session:
        events = session.scalars(select(CustodyEvent).where(CustodyEvent.item_id == item.id)
                                 .order_by(CustodyEvent.seq)).all()
    seal_all(lab_id)
    positions = _positions(events)
    anchor = checkpointing.anchor(lab_id, max(positions.values(), default=-1) + 1)
    cp = anchor.checkpoint
    with Session(db.engine, expire_on_commit=False) as session:
        ledger = session.get(LedgerLog, lab_id)
        lab = session.get(Lab, lab_id)
        keyring = labkeys.keyring(lab.code, ledger.origin)
        proofs = {}
        if cp is not None:
            inside = [p for p in positions.values() if p < cp.size]
            proofs = StoredTree(session, lab_id, cp.size).inclusion_proofs(inside, cp.size)
        body = {
            "generated_at": court.iso(utcnow()),
            "generated_by": f"{actor.full_name} ({actor.username})",
            "lab": {"id": lab.id, "code": lab.code, "name": lab.name},
            "item": {"id": item.id, "barcode": item.barcode, "kind": str(item.kind),
                     "case": item.case.lab_case_number, "custody_seq": item.custody_seq,
                     "custody_head": item.custody_head},
            "events": [_event(e, positions.get(e.id), proofs) for e in events],
            "names": _names(session, events),
            "checkpoint": cp.signed_note().decode() if cp is not None else None,
            "log_keys": keyring.public_document(),
            "witness_keys": [w.verifier.vkey() for w in witnesses.configured()],
            "leaf_format": LEAF_FORMAT,
        }
        data = court.sign_document(body, keyring.signer())
        # As a court would check it, except that a missing cosignature is reported (the page
        # then says "not witnessed") rather than stopping the other checks.
        check = court.verify_document(data, keyring.public_keys(), body["witness_keys"],
                                      require_witness=False)
    return CustodyProof(data, check, anchor,
                        f"custody-proof-{item.barcode.replace('/', '_')}.json")


def _positions(events: list[CustodyEvent]) -> dict[int, int]:
    if not events:
        return {}
    with Session(db.engine) as session:
        return dict(session.execute(
            select(LedgerLeaf.source_id, LedgerLeaf.position)
            .where(LedgerLeaf.kind == LeafKind.CUSTODY_EVENT,
                   LedgerLeaf.source_id.in_([e.id for e in events]))).all())


def _event(event: CustodyEvent, position: int | None, proofs: dict[int, list[bytes]]) -> dict:
    fields = event_payload(event)
    fields["kind"] = str(fields["kind"])  # the enum's value, as the hash saw it
    proof = proofs.get(position, []) if position is not None else []
    return {"id": event.id, "position": position if position in proofs else None,
            "fields": fields, "prev_hash": event.prev_hash, "hash": event.hash,
            "inclusion_proof": [base64.b64encode(h).decode() for h in proof]}


def _names(session: Session, events: list[CustodyEvent]) -> dict:
    """Who and where the ids in the events are, for a reader (signed with the file, not part of
    the events' hashes)."""
    user_ids = {i for e in events for i in (e.from_user_id, e.to_user_id, e.actor_id,
                                            e.witness_id) if i is not None}
    location_ids = {i for e in events for i in (e.from_location_id, e.to_location_id)
                    if i is not None}
    users = {str(u.id): u.full_name for u in session.scalars(
        select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    locations = {str(loc.id): f"{loc.code} ({loc.name})" for loc in session.scalars(
        select(StorageLocation).where(StorageLocation.id.in_(location_ids)))
    } if location_ids else {}
    return {"users": users, "locations": locations}
