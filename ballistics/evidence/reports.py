"""The custody timeline as people read it, and the court chain-of-custody report.

The item page and the report share :func:`timeline` and :func:`verdict`, so the court sees
exactly what the lab sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ballistics.audit.services import record_read
from ballistics.auth.models import Lab, User
from ballistics.core.timeutil import utcnow
from ballistics.evidence.chain import ChainVerification, verify_chain
from ballistics.evidence.models import Case, CustodyEvent, Item, StorageLocation
from ballistics.extensions import db


def fmt_utc(ts: datetime | None) -> str:
    """Stored timestamps are naive UTC; say so on every one a person reads."""
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "—"


def _party(user: User | None, location: StorageLocation | None, agency: str | None) -> str:
    if user is not None:
        return user.full_name
    if location is not None:
        return f"Storage {location.code} ({location.name})"
    return agency or "—"


@dataclass(frozen=True)
class EventRow:
    seq: int
    kind: str
    occurred_at: datetime
    source: str
    target: str
    actor: str
    witness: str
    reason: str
    details: str
    hash: str
    prev_hash: str

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    @property
    def label(self) -> str:
        return self.kind.replace("_", " ")


def timeline(item: Item) -> list[EventRow]:
    """Every custody event of the item in chain order, with names instead of ids."""
    events = db.session.execute(
        select(CustodyEvent).where(CustodyEvent.item_id == item.id, CustodyEvent.lab_id ==
                                   item.lab_id).order_by(CustodyEvent.seq)
        .options(*(selectinload(getattr(CustodyEvent, rel)) for rel in (
            "actor", "witness", "from_user", "to_user", "from_location", "to_location")))
    ).scalars()
    return [EventRow(
        seq=e.seq, kind=e.kind, occurred_at=e.occurred_at,
        source=_party(e.from_user, e.from_location, e.from_agency),
        target=_party(e.to_user, e.to_location, e.to_agency),
        actor=e.actor.full_name, witness=e.witness.full_name if e.witness else "",
        reason=e.reason or "",
        details=", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(e.details.items())),
        hash=e.hash, prev_hash=e.prev_hash) for e in events]


def badge(result: ChainVerification) -> str:
    if result.ok:
        return f"Chain verified ({_events(result.events)})"
    where = f" at event {result.broken_seq}" if result.broken_seq else ""
    return f"Chain BROKEN{where}: {result.reason}"


def _events(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"


def verdict(result: ChainVerification, item: Item, at: datetime) -> str:
    """The verification result in words, for a reader who has never seen a hash chain."""
    when = fmt_utc(at)
    if result.ok:
        return (f"The chain of {_events(result.events)} was verified on {when}: every "
                "event's hash matches its recorded contents, every event links to the hash of "
                f"the event before it, events 1 to {result.events} are all present, and the "
                f"last event is the item's recorded chain head ({item.custody_head}). "
                "No event has been altered, removed or reordered since it was recorded.")
    where = f"at event {result.broken_seq}" if result.broken_seq else "before its first event"
    return (f"The chain of custody was checked on {when} and is BROKEN {where}: "
            f"{result.reason}. The record of this event and of every later event cannot be "
            "relied upon as originally recorded; the laboratory must investigate.")


@dataclass(frozen=True)
class ChainSummary:
    item: Item
    result: ChainVerification


@dataclass(frozen=True)
class CustodyReport:
    lab: Lab
    case: Case
    item: Item
    rows: list[EventRow]
    result: ChainVerification
    statement: str
    sub_items: list[ChainSummary]
    generated_at: datetime
    generated_by: User


def _descendants(item: Item) -> list[Item]:
    out = []
    for child in item.children:
        out += [child, *_descendants(child)]
    return out


def custody_report(actor: User, item: Item) -> CustodyReport:
    """Assemble the court report for an item of the actor's lab, and audit that it was read.

    Producing the report discloses the whole history to someone outside the lab, so the read
    is recorded in the lab's audit chain (committed with the request).
    """
    now = utcnow()
    result = verify_chain(db.session, item)
    subs = [ChainSummary(sub, verify_chain(db.session, sub)) for sub in _descendants(item)]
    record_read(db.session, lab_id=item.lab_id, object_type="items", object_id=str(item.id),
                detail={"view": "chain_of_custody_report", "barcode": item.barcode,
                        "verified": result.ok, "events": result.events})
    return CustodyReport(lab=db.session.get(Lab, item.lab_id), case=item.case, item=item,
                         rows=timeline(item), result=result,
                         statement=verdict(result, item, now), sub_items=subs,
                         generated_at=now, generated_by=actor)
