"""Cases, storage locations and intake. Services flush; the request commits once."""

from __future__ import annotations

import re
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ballistics.auth.access import get_in_lab, lab_select, require_role
from ballistics.auth.models import User
from ballistics.core.errors import Conflict, NotFound
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import Case, CaseCounter, Item, StorageLocation
from ballistics.evidence.permissions import OVERRIDE_CUSTODY, RECEIVE_EVIDENCE
from ballistics.extensions import db

#: characters LIKE treats specially, escaped with a backslash
LIKE_SPECIAL = re.compile(r"[\\%_]")


def _next_case_seq(lab_id: int, year: int) -> int:
    counter = db.session.execute(
        select(CaseCounter).where(CaseCounter.lab_id == lab_id, CaseCounter.year == year)
        .with_for_update()).scalar_one_or_none()
    if counter is None:
        counter = CaseCounter(lab_id=lab_id, year=year, last_seq=0)
        db.session.add(counter)
    counter.last_seq += 1
    return counter.last_seq


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
    web page loads it to render it; its item number is taken by :func:`next_item_number`)."""
    return get_in_lab(Case, case_id, actor, what="case", for_update=True)


class CaseRef(NamedTuple):
    """What an intake needs of its case: the API's receive answers with the item, never the
    case, so the case is not loaded as an object. ``number``: the item number already taken
    for this intake (:func:`case_ref_for_intake`)."""

    id: int
    lab_id: int
    lab_case_number: str
    number: str | None = None


_CASES = Case.__table__
#: Raise the case's item counter: locks the row (until the transaction ends), reads it and
#: takes the next number in one statement (PostgreSQL; SQLite >= 3.35). Under READ COMMITTED a
#: second intake waits for the first's commit, then raises the committed value: numbers are
#: unique and gap-free (a rollback gives its number back). Built once: every receive runs it.
_TAKE_ITEM_NUMBER = (update(_CASES)
                     .where(_CASES.c.lab_id == bindparam("case_lab_id"),
                            _CASES.c.id == bindparam("case_id"))
                     .values(item_count=_CASES.c.item_count + 1)
                     .returning(_CASES.c.id, _CASES.c.lab_id, _CASES.c.lab_case_number,
                                _CASES.c.item_count))


def _take_item_number(lab_id: int, case_id: int):
    session = db.session()
    session.flush()  # anything pending is written (and audited) before the item, as before
    return session.connection().execute(_TAKE_ITEM_NUMBER, {"case_lab_id": lab_id,
                                                            "case_id": case_id}).first()


def case_ref_for_intake(actor: User, case_id: int) -> CaseRef:
    """The API's intake: the case of the actor's lab (404 otherwise), locked, with the new
    item's number taken, in one Core statement (no ORM object, no count of the items)."""
    row = _take_item_number(actor.lab_id, case_id)
    if row is None:
        raise NotFound(_("No %(value)s %(ident)s in your lab.", value="case", ident=case_id))
    return CaseRef(row.id, row.lab_id, row.lab_case_number, str(row.item_count))


def next_item_number(case: Case | CaseRef, parent: Item | None) -> str:
    """Next free item number. A top-level item takes it from the case's counter (the number
    :func:`case_ref_for_intake` took already, or one taken now: the counter's UPDATE locks the
    case). A sub-item locks its parent's row, then counts the parent's sub-items in a statement
    of its own: in READ COMMITTED the count then sees every sub-item committed by the
    transaction that held the lock before."""
    if parent is None:
        if isinstance(case, CaseRef) and case.number is not None:
            return case.number
        row = _take_item_number(case.lab_id, case.id)
        if isinstance(case, Case):
            set_committed_value(case, "item_count", row.item_count)  # as stored, no reload
        return str(row.item_count)
    db.session.execute(select(Item.id).where(Item.id == parent.id).with_for_update())
    session = db.session()
    session.flush()  # sub-items not yet written count too (the count runs on the connection)
    count = session.connection().execute(_COUNT_SUB_ITEMS, {"parent_id": parent.id}).scalar_one()
    return f"{parent.number}.{count + 1}"


# Core statement, built once: no ORM execution around a count.
_ITEMS = Item.__table__
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
