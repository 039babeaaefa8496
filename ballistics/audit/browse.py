"""Reading the audit log: one lab's entries filtered, each change as before/after rows, the
CSV export and the verification state of the lab's log.

Every query here is bounded to one lab (``chain_key``): a manager reads their own lab's log,
never another's, whatever ids the query string carries.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select

from ballistics.audit.models import AuditAction, AuditEntry
from ballistics.audit.services import ChainReport, record_read, verify_audit_chain
from ballistics.auth.models import User
from ballistics.core.timeutil import canonical, day_range_utc
from ballistics.extensions import db

log = logging.getLogger(__name__)

#: newest first; the id breaks ties between entries of one transaction (same timestamp)
ORDER = (AuditEntry.created_at.desc(), AuditEntry.id.desc())
#: records whose page a manager can open from the log: table -> (endpoint, its id argument)
RECORD_PAGES = {"items": ("evidence.item_page", "item_id"),
                "cases": ("evidence.case_page", "case_id"),
                "searches": ("comparisons.search_page", "search_id")}
CSV_COLUMNS = ("id", "created_at_utc", "actor_id", "actor", "origin", "action", "object_type",
               "object_id", "field", "before", "after", "hash")
#: a spreadsheet runs a cell that starts with one of these as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def entries_select(lab_id: int, filters: dict[str, Any], zone: str = "UTC") -> Select:
    """The lab's entries matching the filters (``AuditFilterSchema``), unordered. The dates
    are whole days in ``zone`` (the lab's time zone, as the page shows the times)."""
    stmt = select(AuditEntry).where(AuditEntry.chain_key == lab_id)
    if filters.get("actor_id"):
        stmt = stmt.where(AuditEntry.actor_id == filters["actor_id"])
    start, end = day_range_utc(filters.get("date_from"), filters.get("date_to"), zone)
    if start is not None:
        stmt = stmt.where(AuditEntry.created_at >= start)
    if end is not None:
        stmt = stmt.where(AuditEntry.created_at < end)
    if filters.get("object_type"):
        stmt = stmt.where(AuditEntry.object_type == filters["object_type"])
    if filters.get("object_id"):
        stmt = stmt.where(AuditEntry.object_id == filters["object_id"])
    if filters.get("action"):
        stmt = stmt.where(AuditEntry.action == AuditAction(filters["action"]))
    return stmt


def people(lab_id: int) -> dict[int, str]:
    """Everyone of the lab who may appear as an actor (inactive accounts too: history)."""
    rows = db.session.execute(select(User.id, User.full_name).where(User.lab_id == lab_id)
                              .order_by(User.full_name))
    return {uid: name for uid, name in rows}


def record_types(lab_id: int) -> list[str]:
    """The record types that occur in the lab's log, for the filter's pick list."""
    return list(db.session.scalars(select(AuditEntry.object_type).distinct()
                                   .where(AuditEntry.chain_key == lab_id)
                                   .order_by(AuditEntry.object_type)))


def actor_name(entry: AuditEntry, names: dict[int, str]) -> str:
    if entry.actor_id is None:
        return entry.origin
    return names.get(entry.actor_id, f"user {entry.actor_id}")


@dataclass(frozen=True)
class Change:
    """One column of one entry: its value before and after (None where there was none)."""

    field: str
    before: Any
    after: Any


def changes(entry: AuditEntry) -> list[Change]:
    """What the entry records, column by column: an insert has only ``after``, a delete only
    ``before``, an update both (just the changed columns), a read the details disclosed."""
    before, after = entry.before or {}, entry.after or {}
    return [Change(name, before.get(name), after.get(name))
            for name in sorted({*before, *after})]


#: columns that hold a person's id (shown with the person's name on the page)
PERSON_COLUMNS = ("actor_id", "witness_id", "examiner_id", "reviewer_id", "user_id")


def shown(field: str, value: Any, names: dict[int, str]) -> str:
    """A recorded value as the page shows it: a person's id with their name, "∅" for none."""
    text = _show(value)
    if not text:
        return "∅"
    is_person = field.endswith(("_user_id", "_by_id")) or field in PERSON_COLUMNS
    if is_person and isinstance(value, int) and value in names:
        return f"{value} ({names[value]})"
    return text


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _cell(value: Any) -> str:
    text = _show(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(lab_id: int, filters: dict[str, Any], zone: str = "UTC") -> Iterator[str]:
    """The filtered entries as CSV text, one row per changed field (an entry with no field,
    a bare delete marker, still gets one row), newest first, in chunks. The days filtered on
    are ``zone``'s; the times written stay UTC (``created_at_utc``)."""
    names = people(lab_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    stmt = entries_select(lab_id, filters, zone).order_by(*ORDER).execution_options(yield_per=500)
    for n, entry in enumerate(db.session.scalars(stmt), start=1):
        facts = (entry.id, canonical(entry.created_at), entry.actor_id or "",
                 actor_name(entry, names), entry.origin, entry.action.value, entry.object_type,
                 entry.object_id or "")
        rows = changes(entry) or [Change("", None, None)]
        for change in rows:
            writer.writerow([_cell(v) for v in facts]
                            + [_cell(change.field), _cell(change.before), _cell(change.after),
                               entry.hash])
        if n % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@dataclass(frozen=True)
class ChainState:
    """The lab's log as verified now: each audit entry against its own hash (and the old
    per-lab chain), and the ledger that seals them against the lab's checkpoints."""

    audit: ChainReport
    #: ``ballistics.ledger.verify.LedgerVerification`` (None if it could not run)
    ledger: Any
    ledger_error: str = ""

    @property
    def ok(self) -> bool:
        return self.audit.ok and self.ledger is not None and self.ledger.ok

    @property
    def sentence(self) -> str:
        if not self.audit.ok:
            return _("Audit log BROKEN: %(reason)s.", reason=self.audit.reason)
        if self.ledger is None:
            return _("%(n)s audit entries match their hashes; the ledger could not be "
                     "verified: %(error)s", n=self.audit.entries, error=self.ledger_error)
        if not self.ledger.ok:
            return _("Ledger BROKEN: %(summary)s.", summary=self.ledger.summary())
        if not self.ledger.origin:
            return _("%(n)s audit entries match their hashes; nothing of the lab is sealed "
                     "in its ledger yet.", n=self.audit.entries)
        return _("%(n)s audit entries match their hashes; ledger %(summary)s.",
                 n=self.audit.entries, summary=self.ledger.summary())


def chain_state(lab_id: int) -> ChainState:
    """Verify the lab's audit entries and its ledger (witnesses are not asked over the network
    from a page: the checkpoints they cosigned, stored with the lab, are checked).

    This reads and rehashes the lab's whole log (seconds for tens of thousands of entries), so
    pages run it when a manager asks (:func:`verify_now`), not on every view."""
    from ballistics.ledger.verify import verify_lab

    audit = verify_audit_chain(db.session, lab_id)
    try:
        ledger = verify_lab(lab_id, ask_witnesses=False)
    except Exception as exc:  # a verification that cannot run is shown, not hidden
        log.exception("ledger verification of lab %s failed to run", lab_id)
        return ChainState(audit, None, str(exc) or type(exc).__name__)
    return ChainState(audit, ledger)


#: the record type of a full verification's entry in the lab's own log
VERIFICATION = "audit_verification"


def verify_now(lab_id: int) -> ChainState:
    """Verify the whole log and put the result on record, in the same log: the page shows the
    latest such entry (who verified, when, and what was found) without verifying again."""
    state = chain_state(lab_id)
    ledger = state.ledger
    record_read(db.session, lab_id=lab_id, object_type=VERIFICATION, object_id=str(lab_id),
                detail={"ok": state.ok, "sentence": state.sentence,
                        "audit_entries": state.audit.entries,
                        "ledger_size": ledger.size if ledger is not None else None,
                        "lines": list(ledger.lines) if ledger is not None else [],
                        "problems": list(ledger.problems) if ledger is not None else []})
    return state


@dataclass(frozen=True)
class LogStatus:
    """What the page shows without reading the whole log: the ledger's own state (alarms
    raised by the sealer or a witness, the latest checkpoint, what each witness cosigned) and
    the latest full verification on record."""

    ledger_size: int
    sealed: bool
    alarms: list[str]
    checkpoint_size: int | None
    checkpoint_at: datetime | None
    witnesses: list[tuple[int, datetime | None]]
    last: AuditEntry | None
    #: entries written since the latest full verification
    since: int

    @property
    def state(self) -> str:
        """verified, broken or unverified (never verified, or an alarm since)."""
        if self.alarms or (self.last is not None and not self.last.after.get("ok")):
            return "broken"
        return "verified" if self.last is not None else "unverified"


def log_status(lab_id: int) -> LogStatus:
    from sqlalchemy import func

    from ballistics.ledger.hublog import chains_of
    from ballistics.ledger.models import LedgerCheckpoint, LedgerLog, LedgerWitness

    ledger = db.session.get(LedgerLog, lab_id)
    alarms = [ledger.alarm] if ledger is not None and ledger.alarm else []
    witnesses = []
    for w in db.session.scalars(select(LedgerWitness).where(LedgerWitness.lab_id == lab_id)):
        if w.alarm:
            alarms.append(w.alarm)
        witnesses.append((w.size, w.last_success_at))
    checkpoint = db.session.execute(
        select(LedgerCheckpoint.size, LedgerCheckpoint.created_at)
        .where(LedgerCheckpoint.lab_id == lab_id)
        .order_by(LedgerCheckpoint.size.desc(), LedgerCheckpoint.id.desc()).limit(1)).first()
    last = db.session.scalars(select(AuditEntry).where(
        AuditEntry.chain_key == lab_id, AuditEntry.object_type == VERIFICATION,
        AuditEntry.action == AuditAction.READ).order_by(AuditEntry.id.desc()).limit(1)).first()
    since = db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.chain_key.in_(chains_of(lab_id)),
        AuditEntry.id > (last.id if last else 0))) or 0
    return LogStatus(ledger.size if ledger else 0, ledger is not None, alarms,
                     checkpoint.size if checkpoint else None,
                     checkpoint.created_at if checkpoint else None, witnesses, last, since)
