"""Cases, storage locations and intake. Services flush; the request commits once."""

from __future__ import annotations

import re
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.auth.models import User
from ballistics.core.errors import Conflict, NotFound
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import Case, CaseCounter, CustodyEvent, Item, StorageLocation
from ballistics.evidence.permissions import OVERRIDE_CUSTODY, RECEIVE_EVIDENCE
from ballistics.extensions import db

#: characters LIKE treats specially, escaped with a backslash
LIKE_SPECIAL = re.compile(r"[\\%_]")


_COUNTERS = CaseCounter.__table__
#: raise the lab's counter of the year and read it, its row locked until the transaction ends
_BUMP_CASE_SEQ = (update(_COUNTERS)
                  .where(_COUNTERS.c.lab_id == bindparam("counter_lab"),
                         _COUNTERS.c.year == bindparam("counter_year"))
                  .values(last_seq=_COUNTERS.c.last_seq + 1)
                  .returning(_COUNTERS.c.last_seq))
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _next_case_seq(lab_id: int, year: int) -> int:
    conn, params = db.session.connection(), {"counter_lab": lab_id, "counter_year": year}
    seq = conn.execute(_BUMP_CASE_SEQ, params).scalar_one_or_none()
    if seq is None:
        # The year's first case: whoever comes first makes the counter, the others find it
        # (several at once used to insert it twice, and all but one answered 500).
        conn.execute(_INSERT[conn.dialect.name](_COUNTERS)
                     .values(lab_id=lab_id, year=year, last_seq=0).on_conflict_do_nothing())
        seq = conn.execute(_BUMP_CASE_SEQ, params).scalar_one()
    return seq


def create_case(actor: User, *, submitting_agency: str, agency_case_number: str = "",
                offence: str = "", offence_date=None, notes: str = "") -> Case:
    """Open a case with the next lab case number for the actor's lab and the current year."""
    require_role(actor, RECEIVE_EVIDENCE, "open cases")
    year = utcnow().year
    seq = _next_case_seq(actor.lab_id, year)
    case = Case(lab_id=actor.lab_id, year=year, seq=seq,
                lab_case_number=f"{actor.lab.code}-{year}-{seq:05d}",
                submitting_agency=submitting_agency, agency_case_number=agency_case_number,
                offence=offence, offence_date=offence_date, notes=notes,
                created_by_id=actor.id)
    db.session.add(case)
    db.session.flush()
    return case


def search_cases(actor: User, q: str | None, limit: int = 50, offset: int = 0) -> list[Case]:
    """The API's case search (the case list page filters the same query, paginated)."""
    from ballistics.evidence.lists import CASE_ORDER, cases_select

    stmt = cases_select(actor, {"q": q or ""}).order_by(*CASE_ORDER)
    return list(db.session.execute(stmt.limit(limit).offset(offset)).scalars())


def case_for_intake(actor: User, case_id: int) -> Case:
    """The case of the actor's lab (404 otherwise), its row locked for this transaction (the
    web page loads it to render it; its item number is taken by :func:`intake_slot`)."""
    return get_in_lab(Case, case_id, actor, what="case", for_update=True)


class IntakeSlot(NamedTuple):
    """What one intake takes from its case's counter statement: the item's number and the ids
    its item row and first custody event will have (the event's hash covers the item's id, the
    item's ``custody_head`` is that hash, and the audit entries name both ids: knowing them
    first lets the item be written once, in its final state)."""

    number: str
    item_id: int
    event_id: int


class CaseRef(NamedTuple):
    """What an intake needs of its case: the API's receive answers with the item, never the
    case, so the case is not loaded as an object. ``slot``: the item number and ids already
    taken for this intake (:func:`case_ref_for_intake`)."""

    id: int
    lab_id: int
    lab_case_number: str
    slot: IntakeSlot | None = None


_CASES, _ITEMS = Case.__table__, Item.__table__
_EVENTS = CustodyEvent.__table__


def _take_slot_statement(item_id, event_id):
    """Raise the case's item counter: locks the row (until the transaction ends), reads it and
    takes the next number in one statement (PostgreSQL; SQLite >= 3.35). Under READ COMMITTED a
    second intake waits for the first's commit, then raises the committed value: numbers are
    unique and gap-free (a rollback gives its number back). The same statement takes the new
    item's and event's ids."""
    return (update(_CASES)
            .where(_CASES.c.lab_id == bindparam("case_lab_id"), _CASES.c.id == bindparam("case_id"))
            .values(item_count=_CASES.c.item_count + 1)
            .returning(_CASES.c.id, _CASES.c.lab_id, _CASES.c.lab_case_number,
                       _CASES.c.item_count, item_id.label("item_id"),
                       event_id.label("event_id")))


def _next_id(table):
    # SQLite has no sequences. The counter's UPDATE took the database's write lock, so no other
    # connection inserts a row until this transaction ends: the next id is the one SQLite itself
    # would give a table without AUTOINCREMENT (the largest rowid plus one).
    return select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()


#: built once per dialect: every receive runs one
_TAKE_SLOT = {
    "postgresql": _take_slot_statement(
        func.nextval(func.pg_get_serial_sequence("items", "id")),
        func.nextval(func.pg_get_serial_sequence("custody_events", "id"))),
    "sqlite": _take_slot_statement(_next_id(_ITEMS), _next_id(_EVENTS)),
}


def _take_slot(lab_id: int, case_id: int):
    session = db.session()
    session.flush()  # anything pending is written (and audited) before the item, as before
    conn = session.connection()
    return conn.execute(_TAKE_SLOT[conn.dialect.name], {"case_lab_id": lab_id,
                                                        "case_id": case_id}).first()


def case_ref_for_intake(actor: User, case_id: int) -> CaseRef:
    """The API's intake: the case of the actor's lab (404 otherwise), locked, with the new
    item's number and ids taken, in one Core statement (no ORM object, no count of the items)."""
    row = _take_slot(actor.lab_id, case_id)
    if row is None:
        raise NotFound(_("No %(value)s %(ident)s in your lab.", value="case", ident=case_id))
    return CaseRef(row.id, row.lab_id, row.lab_case_number,
                   IntakeSlot(str(row.item_count), row.item_id, row.event_id))


def intake_slot(case: Case | CaseRef) -> IntakeSlot:
    """A new top-level item's number and ids: those :func:`case_ref_for_intake` took already,
    or taken now (the counter's UPDATE locks the case)."""
    if isinstance(case, CaseRef) and case.slot is not None:
        return case.slot
    row = _take_slot(case.lab_id, case.id)
    if isinstance(case, Case):
        set_committed_value(case, "item_count", row.item_count)  # as stored, no reload
    return IntakeSlot(str(row.item_count), row.item_id, row.event_id)


def next_sub_item_number(parent: Item) -> str:
    """Next free number under ``parent``: its row is locked, then its sub-items are counted in
    a statement of their own (in READ COMMITTED the count then sees every sub-item committed by
    the transaction that held the lock before). Top-level items take theirs from the case's
    counter (:func:`intake_slot`)."""
    db.session.execute(select(Item.id).where(Item.id == parent.id).with_for_update())
    session = db.session()
    session.flush()  # sub-items not yet written count too (the count runs on the connection)
    count = session.connection().execute(_COUNT_SUB_ITEMS, {"parent_id": parent.id}).scalar_one()
    return f"{parent.number}.{count + 1}"


# Core statement, built once: no ORM execution around a count.
_COUNT_SUB_ITEMS = select(func.count(_ITEMS.c.id)).where(
    _ITEMS.c.parent_id == bindparam("parent_id"))


def create_location(actor: User, *, code: str, name: str) -> StorageLocation:
    require_role(actor, OVERRIDE_CUSTODY, "manage storage locations")
    exists = db.session.scalar(lab_select(StorageLocation, actor)
                               .where(StorageLocation.code == code))
    if exists is not None:
        raise Conflict(_("Storage location %(code)s already exists.", code=code),
                       fields={"code": [_("Already in use in your lab.")]})
    location = StorageLocation(lab_id=actor.lab_id, code=code, name=name)
    db.session.add(location)
    db.session.flush()
    return location
