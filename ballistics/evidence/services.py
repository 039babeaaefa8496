"""Cases, storage locations and intake. Services flush; the request commits once."""

from __future__ import annotations

import re
from typing import NamedTuple

from flask_babel import gettext as _
from flask_sqlalchemy.session import Session
from sqlalchemy import bindparam, event, func, select

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


#: ``Session.info`` key: ids of the cases whose row this transaction has locked
_LOCKED_CASES = "evidence_locked_cases"


def case_for_intake(actor: User, case_id: int) -> Case:
    """The case of the actor's lab (404 otherwise), its row locked for this transaction: item
    numbers are taken under this lock, so loading and locking are one statement."""
    case = get_in_lab(Case, case_id, actor, what="case", for_update=True)
    db.session.info.setdefault(_LOCKED_CASES, set()).add(case.id)
    return case


class CaseRef(NamedTuple):
    """What an intake needs of its case: the API's receive answers with the item, never the
    case, so the case is not loaded as an object."""

    id: int
    lab_id: int
    lab_case_number: str


_CASES = Case.__table__
#: built once: every API receive runs it
_CASE_REF_FOR_UPDATE = (select(_CASES.c.id, _CASES.c.lab_id, _CASES.c.lab_case_number)
                        .where(_CASES.c.lab_id == bindparam("lab_id"),
                               _CASES.c.id == bindparam("ident"))
                        .with_for_update())


def case_ref_for_intake(actor: User, case_id: int) -> CaseRef:
    """:func:`case_for_intake` for a caller that needs only the case's id, lab and number:
    the same lab check (404 otherwise) and row lock, one Core statement, no ORM object."""
    session = db.session()
    session.flush()
    row = session.connection().execute(_CASE_REF_FOR_UPDATE,
                                       {"lab_id": actor.lab_id, "ident": case_id}).first()
    if row is None:
        raise NotFound(_("No %(value)s %(ident)s in your lab.", value="case", ident=case_id))
    session.info.setdefault(_LOCKED_CASES, set()).add(row.id)
    return CaseRef(row.id, row.lab_id, row.lab_case_number)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _locks_released(session: Session, *_args) -> None:
    # Any rollback (a savepoint's too) forgets the lock: at worst the case is locked again.
    session.info.pop(_LOCKED_CASES, None)


def next_item_number(case: Case | CaseRef, parent: Item | None) -> str:
    """Next free item number; locks the case (or parent item) row so two simultaneous
    receipts cannot take the same number (unless :func:`case_for_intake` locked it already).
    The count is a statement of its own, after the lock: in READ COMMITTED it then sees every
    item committed by the transaction that held the lock before."""
    owner = Case if parent is None else Item
    if parent is not None or case.id not in db.session.info.get(_LOCKED_CASES, ()):
        db.session.execute(select(owner.id).where(
            owner.id == (case.id if parent is None else parent.id)).with_for_update())
    session = db.session()
    session.flush()  # items not yet written count too (the count runs on the connection)
    conn = session.connection()
    if parent is None:
        return str(conn.execute(_COUNT_CASE_ITEMS, {"case_id": case.id}).scalar_one() + 1)
    count = conn.execute(_COUNT_SUB_ITEMS, {"parent_id": parent.id}).scalar_one()
    return f"{parent.number}.{count + 1}"


# Core statements, built once (every receive numbers an item): no ORM execution around a count.
_ITEMS = Item.__table__
_COUNT_CASE_ITEMS = select(func.count(_ITEMS.c.id)).where(
    _ITEMS.c.case_id == bindparam("case_id"), _ITEMS.c.parent_id.is_(None))
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
