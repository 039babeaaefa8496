"""Chain-of-custody operations.

Rules: only the current holder (or a lab manager) moves an item; release and destruction need
the item in the actor's hands (a manager who does not hold it uses the confirmed override of
:mod:`ballistics.evidence.disposal`) and are refused while other work holds the item
(:mod:`ballistics.evidence.holds`); a released or destroyed item moves no more and takes no
samples; a sealed item is unsealed before it is sampled; destruction needs a witness; every
refusal raises before anything is written.
Each operation appends one hash-chained CustodyEvent and updates the item's derived holder under
its optimistic version counter, so of two simultaneous hand-overs exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ballistics.audit.models import AuditAction
from ballistics.audit.services import core_write_entries
from ballistics.auth.access import colleague, get_in_lab, require_role
from ballistics.auth.models import User
from ballistics.core.actions import action_words
from ballistics.core.errors import Conflict, Unprocessable
from ballistics.core.hashing import GENESIS, chain_hash
from ballistics.core.labels import label
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import Wording, english
from ballistics.evidence.chain import seal_event, values_payload
from ballistics.evidence.holds import refuse_disposal, require_in_custody, require_unsealed
from ballistics.evidence.intake_sql import write_intake
from ballistics.evidence.models import (
    Case,
    CustodyEvent,
    CustodyKind,
    Item,
    ItemKind,
    ItemStatus,
    Seal,
    StorageLocation,
)
from ballistics.evidence.permissions import HOLD_EVIDENCE, OVERRIDE_CUSTODY, RECEIVE_EVIDENCE
from ballistics.evidence.services import CaseRef, intake_slot, next_sub_item_number
from ballistics.extensions import db
from ballistics.ledger.nudge import nudge


@dataclass(frozen=True)
class Holder:
    user_id: int | None = None
    location_id: int | None = None
    agency: str | None = None

    @classmethod
    def of(cls, item: Item) -> Holder:
        return cls(item.holder_user_id, item.holder_location_id, item.holder_agency)


def _flush_or_conflict(item: Item) -> None:
    barcode = item.barcode
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict(_("Item %(barcode)s was changed by someone else at the same moment; reload"
                         " it and try again.", barcode=barcode), code="concurrent_change") from exc


def _append(item: Item, kind: CustodyKind, actor: User, to: Holder, *, reason: str = "",
            witness: User | None = None, details: dict | None = None) -> CustodyEvent:
    frm = Holder.of(item)
    prev = item.custody_head or GENESIS
    event = CustodyEvent(lab_id=item.lab_id, item_id=item.id, seq=item.custody_seq + 1,
                         kind=kind, from_user_id=frm.user_id,
                         from_location_id=frm.location_id, from_agency=frm.agency,
                         to_user_id=to.user_id, to_location_id=to.location_id,
                         to_agency=to.agency, actor_id=actor.id,
                         witness_id=witness.id if witness else None, reason=reason or "",
                         details=details or {}, occurred_at=utcnow())
    seal_event(event, prev)
    item.custody_seq, item.custody_head = event.seq, event.hash
    item.holder_user_id, item.holder_location_id, item.holder_agency = (
        to.user_id, to.location_id, to.agency)
    db.session.add(event)
    _flush_or_conflict(item)
    return event


def refuse_stale_or_disposed(item: Item, expected_seq: int | None) -> None:
    """The caller saw an older state of the item, or the item was released or destroyed."""
    if expected_seq is not None and expected_seq != item.custody_seq:
        raise Conflict(_("Item %(barcode)s has moved on (event %(custody_seq)s, you expected "
                         "%(expected_seq)s); reload it.", barcode=item.barcode,
                         custody_seq=item.custody_seq, expected_seq=expected_seq),
                       code="stale_item")
    if item.is_disposed:
        raise Conflict(_("Item %(barcode)s was %(status)s; it moves no more.",
                         barcode=item.barcode, status=label(item.status)),
                       code="item_disposed")


def _movable(item: Item, actor: User, action: str, expected_seq: int | None, *,
             must_hold: bool = True, in_hand: bool = False) -> None:
    """Refuse before anything changes: role, disposal, holder, and a stale view of the item.
    ``in_hand``: only the holder themself (release, destruction); a manager who does not hold
    the item uses the override (:mod:`ballistics.evidence.disposal`)."""
    require_role(actor, HOLD_EVIDENCE, action)
    refuse_stale_or_disposed(item, expected_seq)
    if in_hand and item.holder_user_id != actor.id:
        who = (_("as a lab manager you may request an override (a reason from the list, "
                 "confirmed by a second person)") if actor.has_role(*OVERRIDE_CUSTODY)
               else _("its holder does it, or a lab manager by a confirmed override"))
        raise Conflict(_("You do not hold item %(barcode)s (it is with %(holder_label)s); to "
                         "%(action)s the item must be in your hands: %(who)s.",
                         barcode=item.barcode, holder_label=item.holder_label,
                         action=action_words(action),
                         who=who), code="not_holder")
    if must_hold and item.holder_user_id != actor.id and not actor.has_role(*OVERRIDE_CUSTODY):
        raise Conflict(_("You do not hold item %(barcode)s (it is with %(holder_label)s); only "
                         "its current holder or a lab manager can do this.", barcode=item.barcode,
                         holder_label=item.holder_label),
                       code="not_holder")


def _location(actor: User, location_id: int) -> StorageLocation:
    location = db.session.get(StorageLocation, location_id)
    if location is None or location.lab_id != actor.lab_id or not location.is_active:
        raise Unprocessable(_("Storage location %(location_id)s is not an active location of your"
                              " lab.", location_id=location_id),
                            fields={"location_id": [_("Unknown storage location.")]})
    return location


#: an item's columns a receive does not take from the caller, as the model's defaults
_ITEM_DEFAULTS = {"parent_id": None, "description": "", "description_wording": None,
                  "quantity": 1, "make": "", "model": "", "serial_number": "", "calibre": "",
                  "is_serial_obliterated": False,
                  "status": ItemStatus.IN_CUSTODY, "holder_location_id": None,
                  "holder_agency": None, "custody_seq": 1, "version": 1}
#: the item's facts a caller may give (the rest is the receive's to set)
_ITEM_FACTS = frozenset({"quantity", "make", "model", "serial_number", "calibre",
                         "is_serial_obliterated"})


def receive(actor: User, case: Case | CaseRef, *, kind: str, from_agency: str,
            description: str | Wording = "", reason: str = "", event_details: dict | None = None,
            answer_only: bool = False, **details) -> Item:
    """Receive an item from an outside agency into the actor's custody. ``description``: as
    typed, or a wording when the lab writes it (kept in English and as its wording, said in
    the reader's language on pages). ``event_details`` go into the hashed received event
    (e.g. the sending lab's release it answers).
    ``answer_only``: the caller only reads the item back (the API's answer), so it is not put
    into the session (nothing further is written through it).

    The hot path of intake, so written with Core statements instead of the unit of work, which
    cost most of a receive's CPU: the case's counter statement takes the item's number and the
    ids of the item and its first event, so the event is hashed and the item written once, in
    its final state (held by the actor, its chain's head that event), with the two audit
    entries (item inserted, event inserted) in the same statement on PostgreSQL
    (:mod:`.intake_sql`). The event's hash is the one the ORM path computes.
    """
    require_role(actor, RECEIVE_EVIDENCE, "receive evidence")
    unknown = set(details) - _ITEM_FACTS
    if unknown:
        raise TypeError(f"receive() got unexpected item columns {sorted(unknown)}")
    slot = intake_slot(case)
    now = utcnow()
    event = {"id": slot.event_id, "lab_id": case.lab_id, "item_id": slot.item_id, "seq": 1,
             "kind": CustodyKind.RECEIVED, "from_user_id": None, "from_location_id": None,
             "from_agency": from_agency, "to_user_id": actor.id, "to_location_id": None,
             "to_agency": None, "actor_id": actor.id, "witness_id": None,
             # the reason as given: the event names the agency it came from already, and a
             # sentence made up here would be English on every reader's page and report
             "reason": reason,
             "details": event_details or {}, "occurred_at": now, "prev_hash": GENESIS}
    event["hash"] = chain_hash(GENESIS, values_payload(event))
    item = {**_ITEM_DEFAULTS, **details, "id": slot.item_id, "lab_id": case.lab_id,
            "case_id": case.id, "number": slot.number,
            "barcode": f"{case.lab_case_number}/{slot.number}", "kind": ItemKind(kind),
            **({"description": description} if isinstance(description, str) else
               {"description": english(description), "description_wording": description}),
            "holder_user_id": actor.id,
            "custody_head": event["hash"], "created_at": now}
    session = db.session()
    entries = core_write_entries(session, case.lab_id, [
        (AuditAction.INSERT, "items", str(slot.item_id), None, item),
        (AuditAction.INSERT, "custody_events", str(slot.event_id), None, event)])
    try:
        write_intake(session.connection(), item, event, entries)
    except IntegrityError as exc:
        raise Conflict(_("Item %(barcode)s was changed by someone else at the same moment; "
                         "reload it and try again.", barcode=item["barcode"]),
                       code="concurrent_change") from exc
    nudge(session, {case.lab_id})
    return _persistent_item(item, actor, attach=not answer_only)


def _persistent_item(values: dict, holder: User, *, attach: bool) -> Item:
    """The written item as an object as if just loaded (no SELECT), with its holder and its
    (no) seals: callers go on using it (the answer, further custody steps, the demo). Attached
    to the session unless the caller only reads it (then it is detached, and everything its
    answer reads is already set). Its values go into its dict as a load puts them (the
    constructor would fire an attribute event per column: a quarter of a receive's own work)."""
    item = Item.__mapper__.class_manager.new_instance()
    instance_dict(item).update(values)
    make_transient_to_detached(item)
    set_committed_value(item, "seals", [])  # a new item has none: say so, no query
    set_committed_value(item, "holder_user", holder)  # the actor holds it: no lookup
    if attach:
        db.session.add(item)
    return item


def transfer(actor: User, item: Item, *, to_user_id: int, reason: str = "",
             expected_seq: int | None = None) -> CustodyEvent:
    _movable(item, actor, "hand over evidence", expected_seq)
    to = colleague(to_user_id, actor, field="to_user_id")
    if not to.has_role(*HOLD_EVIDENCE):
        raise Unprocessable(_("%(full_name)s has no custody role.", full_name=to.full_name),
                            fields={"to_user_id": [_("This user may not hold evidence.")]})
    if to.id == item.holder_user_id:
        raise Conflict(_("%(full_name)s already holds item %(barcode)s.", full_name=to.full_name,
                         barcode=item.barcode), code="same_holder")
    return _append(item, CustodyKind.TRANSFERRED, actor, Holder(user_id=to.id), reason=reason)


def store(actor: User, item: Item, *, location_id: int, reason: str = "",
          expected_seq: int | None = None, returning: bool = False) -> CustodyEvent:
    _movable(item, actor, "store evidence", expected_seq)
    location = _location(actor, location_id)
    if item.holder_location_id == location.id:
        raise Conflict(_("Item %(barcode)s is already in %(code)s.", barcode=item.barcode,
                         code=location.code), code="same_holder")
    kind = CustodyKind.RETURNED if returning else CustodyKind.STORED
    return _append(item, kind, actor, Holder(location_id=location.id), reason=reason)


def check_out(actor: User, item: Item, *, to_user_id: int | None = None, reason: str = "",
              expected_seq: int | None = None) -> CustodyEvent:
    """Take an item out of storage to a person (the actor by default)."""
    _movable(item, actor, "check out evidence", expected_seq, must_hold=False)
    if item.holder_location_id is None:
        raise Conflict(_("Item %(barcode)s is not in storage (it is with %(holder_label)s); hand "
                         "it over instead.", barcode=item.barcode, holder_label=item.holder_label),
                       code="not_in_storage")
    to = colleague(to_user_id or actor.id, actor, field="to_user_id")
    if not to.has_role(*HOLD_EVIDENCE):
        raise Unprocessable(_("%(full_name)s has no custody role.", full_name=to.full_name),
                            fields={"to_user_id": [_("This user may not hold evidence.")]})
    return _append(item, CustodyKind.CHECKED_OUT, actor, Holder(user_id=to.id), reason=reason)


def seal(actor: User, item: Item, *, seal_number: str, reason: str = "",
         expected_seq: int | None = None) -> CustodyEvent:
    _movable(item, actor, "seal evidence", expected_seq)
    if item.intact_seal is not None:
        raise Conflict(_("Item %(barcode)s is already sealed (%(number)s).", barcode=item.barcode,
                         number=item.intact_seal.number),
                       code="already_sealed")
    db.session.add(Seal(lab_id=item.lab_id, item=item, number=seal_number,
                        applied_by_id=actor.id, applied_at=utcnow()))
    return _append(item, CustodyKind.SEALED, actor, Holder.of(item), reason=reason,
                   details={"seal_number": seal_number})


def unseal(actor: User, item: Item, *, reason: str, expected_seq: int | None = None
           ) -> CustodyEvent:
    _movable(item, actor, "unseal evidence", expected_seq)
    current = item.intact_seal
    if current is None:
        raise Conflict(_("Item %(barcode)s has no intact seal.", barcode=item.barcode),
                       code="not_sealed")
    current.broken_by_id, current.broken_at, current.broken_reason = actor.id, utcnow(), reason
    return _append(item, CustodyKind.UNSEALED, actor, Holder.of(item), reason=reason,
                   details={"seal_number": current.number})


def sample(actor: User, item: Item, *, kind: str, description: str = "", reason: str = "",
           expected_seq: int | None = None, **details) -> Item:
    """Create a sub-item (e.g. a test fire from a firearm) held by the actor. The sub-item
    takes the parent's calibre unless another is given, so a test fire's scans are searched
    among references of the firearm's calibre."""
    require_in_custody(item, "samples")
    _movable(item, actor, "sample evidence", expected_seq)
    require_unsealed(item, "sampling")
    details["calibre"] = details.get("calibre") or item.calibre
    number = next_sub_item_number(item)
    # the case is loaded (a query, so an autoflush) before the child joins its parent's children
    barcode = f"{item.case.lab_case_number}/{number}"
    child = Item(lab_id=item.lab_id, case_id=item.case_id, parent=item, kind=ItemKind(kind),
                 number=number, barcode=barcode, description=description, **details)
    db.session.add(child)
    db.session.flush()
    _append(item, CustodyKind.SAMPLED, actor, Holder.of(item), reason=reason,
            details={"sub_item_id": child.id, "sub_item_barcode": child.barcode})
    _append(child, CustodyKind.SAMPLED, actor, Holder(user_id=actor.id), reason=reason,
            details={"parent_item_id": item.id, "parent_barcode": item.barcode})
    return child


def release(actor: User, item: Item, *, to_agency: str, reason: str,
            expected_seq: int | None = None, details: dict | None = None) -> CustodyEvent:
    """Release an item the actor holds to an outside agency (see :mod:`.holds` for when not).
    ``details`` go into the hashed event (e.g. the partner lab and transfer id)."""
    refuse_release(actor, item, expected_seq)
    return dispose(item, "release", actor, to_agency=to_agency, reason=reason, details=details)


def refuse_release(actor: User, item: Item, expected_seq: int | None = None) -> None:
    """Raise what :func:`release` would refuse now, writing nothing: for a caller that asks
    someone else before it releases (the hub, for a partner lab). The release judges again."""
    _movable(item, actor, "release evidence", expected_seq, in_hand=True)
    refuse_disposal(item, "release", override=False)


def destroy(actor: User, item: Item, *, witness_id: int | None, reason: str, method: str = "",
            expected_seq: int | None = None) -> CustodyEvent:
    """Destroy an item the actor holds, before a witness (see :mod:`.holds` for when not)."""
    _movable(item, actor, "destroy evidence", expected_seq, in_hand=True)
    witness = destruction_witness(actor, witness_id)
    refuse_disposal(item, "destroy", override=False)
    return dispose(item, "destroy", actor, witness=witness, reason=reason, method=method)


def destruction_witness(actor: User, witness_id: int | None) -> User:
    if witness_id is None:
        raise Unprocessable(_("Destruction needs a witness."),
                            fields={"witness_id": [_("A witness is required for destruction.")]})
    witness = colleague(witness_id, actor, field="witness_id")
    if witness.id == actor.id:
        raise Unprocessable(_("The witness must be another person."),
                            fields={"witness_id": [_("The witness cannot be the actor.")]})
    return witness


def dispose(item: Item, action: str, actor: User, *, reason: str, to_agency: str = "",
            witness: User | None = None, method: str = "", details: dict | None = None
            ) -> CustodyEvent:
    """Append the release or destruction event once every rule has passed."""
    if action == "release":
        item.status = ItemStatus.RELEASED
        return _append(item, CustodyKind.RELEASED, actor, Holder(agency=to_agency),
                       reason=reason, details=details)
    item.status = ItemStatus.DESTROYED
    facts = {**({"method": method} if method else {}), **(details or {})}
    return _append(item, CustodyKind.DESTROYED, actor, Holder(), reason=reason, witness=witness,
                   details=facts or None)


def load_item(actor: User, item_id: int) -> Item:
    return get_in_lab(Item, item_id, actor, what="item")
