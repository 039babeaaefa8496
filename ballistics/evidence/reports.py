"""The custody timeline as people read it, and the court chain-of-custody report.

The item page and the report share :func:`timeline`, so the court sees exactly what the lab
sees. The report's verdict rests on the item's hash chain *and* on the lab's ledger: the proof
file the court downloads is checked by the same offline verifier a court runs, and only a
checkpoint cosigned by an independent witness lets the report say that nothing was altered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ballistics.audit.services import record_read
from ballistics.auth.models import Lab, User
from ballistics.core.labels import label
from ballistics.core.numbers import number
from ballistics.core.timeutil import utcnow
from ballistics.evidence.chain import ChainVerification, verify_chain
from ballistics.evidence.models import Case, CustodyEvent, Item, StorageLocation
from ballistics.extensions import db
from ballistics.ledger.proofs import CustodyProof, custody_proof

log = logging.getLogger(__name__)


def fmt_utc(ts: datetime | None) -> str:
    """Stored timestamps are naive UTC; say so on every one a person reads."""
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "—"


def _party(user: User | None, location: StorageLocation | None, agency: str | None) -> str:
    if user is not None:
        return user.full_name
    if location is not None:
        return _("Storage %(code)s (%(name)s)", code=location.code, name=location.name)
    return agency or "—"


#: the facts a custody event keeps (``CustodyEvent.details``) as a reader names them; the
#: stored keys stay English (the hash covers them), the page and the court report say these
DETAIL_LABELS = {
    "seal_number": _l("seal number"), "sub_item_barcode": _l("sub-item"),
    "parent_barcode": _l("sampled from"), "method": _l("method"),
    "override": _l("manager's override"), "override_request_id": _l("override request"),
    "confirmed_by_id": _l("confirmed by"), "partner_lab": _l("partner lab"),
    "transfer_id": _l("transfer"), "sender_lab": _l("sending lab"),
    "sender_release_event_id": _l("sender's release event"),
    "sender_release_hash": _l("sender's release hash"),
    "sender_leaf_index": _l("sender's ledger entry"),
    "sender_checkpoint_size": _l("sender's checkpoint size"),
    "sender_checkpoint_root": _l("sender's checkpoint root"),
}
#: database ids a reader has no use for: the same fact is kept by barcode beside them
_HIDDEN_DETAILS = frozenset({"sub_item_id", "parent_item_id"})
#: details naming a user by id: the reader reads the name
_USER_DETAILS = frozenset({"confirmed_by_id"})
#: details holding a stored code: the reader reads its label
_CODE_DETAILS = frozenset({"override"})


def _detail_value(key: str, value: object, lab_id: int) -> str:
    if key in _USER_DETAILS and isinstance(value, int):
        user = db.session.scalar(select(User).where(User.id == value, User.lab_id == lab_id))
        return user.full_name if user is not None else str(value)
    if key in _CODE_DETAILS:
        return str(label(value))
    return str(value)


def event_details(event: CustodyEvent) -> str:
    """An event's kept facts in the reader's words: "seal number: S-1", "sub-item: C/1.1"."""
    return ", ".join(
        f"{DETAIL_LABELS.get(key, key.replace('_', ' '))}: "
        f"{_detail_value(key, value, event.lab_id)}"
        for key, value in sorted((event.details or {}).items()) if key not in _HIDDEN_DETAILS)


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
        return label(self.kind)


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
        details=event_details(e),
        hash=e.hash, prev_hash=e.prev_hash) for e in events]


def badge(result: ChainVerification) -> str:
    if result.ok:
        return _("Chain verified (%(events)s)", events=_events(result.events))
    if result.broken_seq:
        return _("Chain BROKEN at event %(seq)s: %(reason)s", seq=result.broken_seq,
                 reason=result.reason)
    return _("Chain BROKEN: %(reason)s", reason=result.reason)


def _events(n: int) -> str:
    return ngettext("%(count)s event", "%(count)s events", n, count=number(n))


@dataclass(frozen=True)
class Verdict:
    """What the report may state: ``state`` is "witnessed" (verified against a checkpoint an
    independent witness cosigned), "unanchored" (consistent, but nothing outside the lab's
    database vouches for it) or "broken"."""

    state: str
    badge: str
    statement: str

    @property
    def ok(self) -> bool:
        return self.state == "witnessed"


def _witness_words(proof: CustodyProof) -> str:
    return ", ".join(_("%(name)s on %(when)s UTC", name=name,
                       when=datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S"))
                     for name, ts in proof.check.witnessed)


def verdict(result: ChainVerification, item: Item, at: datetime,
            proof: CustodyProof | None = None, ledger_error: str = "") -> Verdict:
    """The verification result in words, for a reader who has never seen a hash chain. It never
    says that nothing was altered unless the witnessed checkpoint verifies."""
    when = fmt_utc(at)  # a court report states UTC (fmt_utc says so), in any language
    if not result.ok:
        where = (_("at event %(seq)s", seq=result.broken_seq) if result.broken_seq
                 else _("before its first event"))
        return Verdict("broken", badge(result), _(
            "The chain of custody was checked on %(when)s and is BROKEN %(where)s: %(reason)s. "
            "The record of this event and of every later event cannot be relied upon as "
            "originally recorded; the laboratory must investigate.",
            when=when, where=where, reason=result.reason))
    chain = _("every event's hash matches its recorded contents, every event links to the hash "
              "of the event before it, events 1 to %(last)s are all present, and the last event "
              "is the item's recorded chain head (%(head)s)", last=result.events,
              head=item.custody_head)
    check = proof.check if proof else None
    anchor_problem = proof.anchor.problem if proof else ""
    has_checkpoint = proof is not None and proof.anchor.checkpoint is not None
    if check is not None and check.ok and check.witnessed:
        cp = proof.anchor.checkpoint
        return Verdict(
            "witnessed", _("Chain verified and witnessed (%(events)s)",
                           events=_events(result.events)),
            _("The chain of %(events)s was verified on %(when)s: %(chain)s. Each event is "
              "included in the checkpoint of the first %(size)s entries of the laboratory's "
              "custody log, signed by the laboratory and cosigned by the independent witness "
              "%(witnesses)s. No event has been altered, removed or reordered since that "
              "witness cosigned the checkpoint: a change would contradict the checkpoint the "
              "witness keeps. The proof file below lets anyone repeat this check with the "
              "laboratory's public key.", events=_events(result.events), when=when,
              chain=chain, size=cp.size, witnesses=_witness_words(proof)))
    if anchor_problem or (check is not None and not check.ok and has_checkpoint):
        # The log contradicts what a witness cosigned, or the events are not in the checkpoint.
        reason = anchor_problem or check.failure
        return Verdict(
            "broken", _("Chain CONTRADICTS the witnessed log"),
            _("The chain of %(events)s was checked on %(when)s. Its events are consistent with "
              "each other, but they do NOT match the laboratory's witnessed custody log: "
              "%(reason)s. The recorded events cannot be relied upon as originally recorded; "
              "the laboratory must investigate.", events=_events(result.events), when=when,
              reason=reason))
    why = (ledger_error and _("the ledger could not be checked: %(error)s", error=ledger_error)
           ) or _("no independent witness has cosigned a checkpoint covering these events yet")
    return Verdict(
        "unanchored", _("Chain consistent, NOT witnessed (%(events)s)",
                        events=_events(result.events)),
        _("The chain of %(events)s was checked on %(when)s and is internally consistent: "
          "%(chain)s. It is not anchored, because %(why)s: this check cannot exclude that "
          "someone with full access to the laboratory's database rewrote the events and "
          "recomputed their hashes.", events=_events(result.events), when=when, chain=chain,
          why=why))


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
    verdict: Verdict
    sub_items: list[ChainSummary]
    generated_at: datetime
    generated_by: User
    proof: CustodyProof | None

    @property
    def statement(self) -> str:
        return self.verdict.statement


def _descendants(item: Item) -> list[Item]:
    out = []
    for child in item.children:
        out += [child, *_descendants(child)]
    return out


def ledger_proof(actor: User, item: Item) -> tuple[CustodyProof | None, str]:
    """The item's court proof file, or why the ledger could not give one. Runs before the
    request writes anything (it seals and checkpoints in transactions of its own)."""
    try:
        return custody_proof(actor, item), ""
    except Exception as exc:  # the report must still say what it can
        log.exception("ledger proof for item %s failed", item.id)
        return None, f"{type(exc).__name__}: {exc}"


def custody_report(actor: User, item: Item, audit: bool = True) -> CustodyReport:
    """Assemble the court report for an item of the actor's lab, and audit that it was read.

    Producing the report discloses the whole history to someone outside the lab, so the read
    is recorded in the lab's audit log (committed with the request); ``audit=False`` for a
    caller that records the read itself (the PDF, with its digest).
    """
    proof, ledger_error = ledger_proof(actor, item)
    now = utcnow()
    result = verify_chain(db.session, item)
    subs = [ChainSummary(sub, verify_chain(db.session, sub)) for sub in _descendants(item)]
    judged = verdict(result, item, now, proof, ledger_error)
    if audit:
        record_read(db.session, lab_id=item.lab_id, object_type="items",
                    object_id=str(item.id),
                    detail={"view": "chain_of_custody_report", "barcode": item.barcode,
                            "verified": result.ok, "events": result.events,
                            "ledger": judged.state})
    return CustodyReport(lab=db.session.get(Lab, item.lab_id), case=item.case, item=item,
                         rows=timeline(item), result=result, verdict=judged, sub_items=subs,
                         generated_at=now, generated_by=actor, proof=proof)
