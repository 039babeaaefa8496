"""Checks of what one intake wrote: the item and its first event as stored, against their audit
entries (the receive writes them with Core statements, so no flush captured them)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ballistics.audit.models import AuditEntry
from ballistics.core.timeutil import canonical
from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import CustodyEvent, Item
from ballistics.extensions import db


def _as_audited(row) -> dict:
    """A row's columns as the audit log writes values (times in their canonical text)."""
    return {key: canonical(value) if isinstance(value, dt.datetime) else value
            for key, value in row._mapping.items()}


def entries_of(lab_id: int, object_type: str, object_id: int) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(
        AuditEntry.chain_key == lab_id, AuditEntry.object_type == object_type,
        AuditEntry.object_id == str(object_id)).order_by(AuditEntry.id)).all()


def check_intake(lab_id: int, item_id: int, holder_id: int) -> tuple[AuditEntry, AuditEntry]:
    """The item and its event as stored equal their audit entries' ``after``; one entry each."""
    db.session.expire_all()
    item_row = db.session.execute(select(Item.__table__).where(Item.id == item_id)).one()
    event_row = db.session.execute(select(CustodyEvent.__table__)
                                   .where(CustodyEvent.item_id == item_id)).one()
    (item_entry,) = entries_of(lab_id, "items", item_id)
    (event_entry,) = entries_of(lab_id, "custody_events", event_row.id)
    assert item_entry.action == event_entry.action == "insert"
    assert item_entry.after == _as_audited(item_row)
    assert event_entry.after == _as_audited(event_row)
    assert item_entry.id < event_entry.id  # the log keeps the order: the item, then its event
    assert (item_row.holder_user_id, item_row.custody_seq, item_row.version) == (holder_id, 1, 1)
    assert item_row.custody_head == event_row.hash and event_row.seq == 1
    item = db.session.get(Item, item_id)
    assert verify_chain(db.session, item).ok
    return item_entry, event_entry
