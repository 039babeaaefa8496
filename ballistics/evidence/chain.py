"""Hashing and verification of an item's chain of custody."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballistics.core.hashing import GENESIS, chain_hash
from ballistics.core.timeutil import canonical
from ballistics.evidence.models import CustodyEvent, Item


def event_payload(event: CustodyEvent) -> dict:
    return values_payload({name: getattr(event, name) for name in _PAYLOAD_FIELDS})


_PAYLOAD_FIELDS = (*CustodyEvent.HASHED_FIELDS, "occurred_at")


def values_payload(values: dict) -> dict:
    """The hashed facts of an event given as column values (an event inserted with a Core
    statement): the same payload, so the same hash, as :func:`event_payload` of the object."""
    payload = {name: values[name] for name in CustodyEvent.HASHED_FIELDS}
    payload["occurred_at"] = canonical(values["occurred_at"])
    return payload


def seal_event(event: CustodyEvent, prev_hash: str) -> None:
    """Set the event's ``prev_hash`` and ``hash`` (called once, before insert)."""
    event.prev_hash = prev_hash
    event.hash = chain_hash(prev_hash, event_payload(event))


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    events: int
    broken_event_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict:
        return {"ok": self.ok, "events": self.events, "broken_event_id": self.broken_event_id,
                "broken_seq": self.broken_seq, "reason": self.reason}


def verify_chain(session: Session, item: Item) -> ChainVerification:
    """Recompute every link of an item's custody chain and name the first that does not fit.

    A link is broken when its stored hash differs from the hash of its own fields, when it does
    not point to the previous link's hash, or when a sequence number is missing.
    """
    events = session.execute(select(CustodyEvent).where(CustodyEvent.item_id == item.id)
                             .order_by(CustodyEvent.seq)).scalars().all()
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return ChainVerification(False, len(events), event.id, event.seq,
                                     f"event {expected_seq} is missing before event {event.seq}")
        if event.prev_hash != prev:
            return ChainVerification(False, len(events), event.id, event.seq,
                                     f"event {event.seq} ({event.kind}) does not link to the "
                                     "previous event")
        if chain_hash(prev, event_payload(event)) != event.hash:
            return ChainVerification(False, len(events), event.id, event.seq,
                                     f"event {event.seq} ({event.kind}, id {event.id}) was "
                                     "altered after it was recorded")
        prev = event.hash
    if not events:
        return ChainVerification(False, 0, reason="the item has no custody events")
    if len(events) != item.custody_seq or prev != item.custody_head:
        return ChainVerification(False, len(events), None, len(events) + 1,
                                 f"the item's chain head is event {item.custody_seq} but the "
                                 f"log ends at event {len(events)}: events were removed")
    return ChainVerification(True, len(events))
