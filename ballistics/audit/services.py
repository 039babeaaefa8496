"""Recording and verifying the audit log.

Every ORM write is captured after each flush, so no service can forget to log; the entry is
written on the same connection, inside the same transaction as the change it describes.

Entries are hashed on their own content (with a random salt) and inserted without any lab-wide
lock: writers of a lab no longer wait for each other. Order and tamper evidence come from the
lab's ledger (``ballistics.ledger``), which seals each entry as a leaf of a Merkle tree within
a second or so of the commit. Entries written before the ledger keep their per-lab hash chain
(``seq`` 1, 2, ...; ``prev_hash`` the previous entry's hash) and still verify as that chain.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import secrets
from dataclasses import dataclass

from flask_sqlalchemy.session import Session
from sqlalchemy import Connection, event, insert, inspect, select

from ballistics.audit.models import AuditAction, AuditEntry
from ballistics.core.context import current_actor
from ballistics.core.hashing import GENESIS, chain_hash
from ballistics.core.timeutil import canonical, utcnow

REDACTED_COLUMNS = {"password_hash", "token_hash"}
#: ``prev_hash`` of entries written since the ledger: this prefix and a random salt
SALT_PREFIX = "salt:"
_entries = AuditEntry.__table__
#: built once: every write appends entries
_INSERT_ENTRIES = insert(_entries)


#: values stored as they are (most columns): no isinstance chain for them
_AS_IS = frozenset({str, int, bool, float, type(None), dict, list})


def _plain(value):
    if type(value) in _AS_IS:
        return value
    if isinstance(value, dt.datetime):
        return canonical(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


#: mapper -> its column attributes' keys
_COLUMN_KEYS: dict = {}


def _column_keys(mapper) -> tuple[str, ...]:
    """The mapped columns' attribute keys, once per mapper (not every attribute of every
    object of every flush: relationships are most of them), without a model's
    ``__audit_skipped__``: bookkeeping derived from rows audited themselves (a case's item
    counter follows its items), never changed through the ORM."""
    keys = _COLUMN_KEYS.get(mapper)
    if keys is None:
        skipped = getattr(mapper.class_, "__audit_skipped__", frozenset())
        keys = _COLUMN_KEYS[mapper] = tuple(attr.key for attr in mapper.column_attrs
                                            if attr.key not in skipped)
    return keys


def _redacted(obj) -> frozenset[str] | set[str]:
    """Columns whose values the audit log names but does not hold: secrets everywhere, and a
    model's own (``__audit_redacted__``), e.g. text the hub relays once and then forgets."""
    own = getattr(obj, "__audit_redacted__", None)
    return REDACTED_COLUMNS | own if own else REDACTED_COLUMNS


def _columns(obj) -> dict:
    state = inspect(obj)
    values = state.dict
    redacted = _redacted(obj)
    # A column not in the object's dict (expired, deferred) is loaded, as before.
    return {key: ("<redacted>" if key in redacted
                  else _plain(values[key] if key in values else getattr(obj, key)))
            for key in _column_keys(state.mapper)}


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    before, after = {}, {}
    redacted = _redacted(obj)
    for key in _column_keys(state.mapper):
        attr = state.attrs[key]
        hist = attr.history
        if hist.has_changes():
            redact = attr.key in redacted
            before[attr.key] = "<redacted>" if redact else _plain(
                hist.deleted[0] if hist.deleted else None)
            after[attr.key] = "<redacted>" if redact else _plain(
                hist.added[0] if hist.added else None)
    return before, after


def _chain_key(obj, actor_lab: int | None) -> int:
    lab_id = getattr(obj, "lab_id", None)
    if lab_id is None and obj.__tablename__ == "labs":
        lab_id = obj.id
    return lab_id or actor_lab or 0


def _object_id(obj) -> str | None:
    # A row inserted by this flush has no identity key yet (it becomes persistent after the
    # flush), but its primary key is set: read it from the mapper, so an insert names its
    # record like every later change of it (the audit viewer filters a record by its id).
    state = inspect(obj)
    ident = state.identity or state.mapper.primary_key_from_instance(obj)
    if not ident or any(i is None for i in ident):
        return None
    return ",".join(str(i) for i in ident)


#: the facts of an entry that its hash covers (everything but the hashes themselves)
HASHED_FIELDS = ("chain_key", "seq", "actor_id", "origin", "action", "object_type", "object_id",
                 "before", "after", "created_at")


def hashed_payload(entry: dict) -> dict:
    """The one canonical form of an entry's facts that its hash covers, used to write and to
    verify (the time in its fixed text form, the action as its value)."""
    payload = {name: entry[name] for name in HASHED_FIELDS}
    payload["created_at"] = canonical(payload["created_at"])
    payload["action"] = _plain(payload["action"])
    return payload


def entry_values(chain_key: int, rows: list[dict]) -> list[dict]:
    """Column values of new entries for one lab, each hashed on its own facts and a random salt
    (``prev_hash``); its place in the lab's history is given by the ledger's sealer. Each row
    holds action, object_type, object_id, before and after, and may name its ``actor`` (noted
    when the change was flushed; the current actor otherwise)."""
    actor = current_actor()
    created_at = utcnow()
    values = []
    for row in rows:
        by = row.get("actor") or actor  # who made the change, if it was noted at the flush
        entry = {"chain_key": chain_key, "seq": None, "actor_id": by.user_id,
                 "origin": by.origin, "action": row["action"],
                 "object_type": row["object_type"], "object_id": row["object_id"],
                 "before": row["before"], "after": row["after"], "created_at": created_at}
        salt = SALT_PREFIX + secrets.token_hex(16)
        values.append({**entry, "prev_hash": salt,
                       "hash": chain_hash(salt, hashed_payload(entry))})
    return values


def append(session: Session, chain_key: int, rows: list[dict]) -> None:
    """Append entries for one lab on the session's connection: one INSERT, no lock."""
    insert_entries(session.connection(), entry_values(chain_key, rows))


def insert_entries(conn: Connection, values: list[dict]) -> None:
    """Insert entries made by :func:`entry_values` (one statement, built once)."""
    conn.execute(_INSERT_ENTRIES, values)


def core_write_entries(session: Session, chain_key: int,
                       rows: list[tuple[AuditAction, str, str, dict | None, dict | None]]
                       ) -> list[dict]:
    """Entries for rows a Core statement is about to write (no flush sees those), as
    (action, object_type, object_id, before, after), their values converted as captured ones
    are, for the caller to insert with the rows themselves. Entries still pending from this
    transaction's earlier flushes are written first, so the log keeps the transaction's order."""
    _append_pending(session)
    return entry_values(chain_key, [
        {"action": action, "object_type": object_type, "object_id": object_id,
         "before": None if before is None else {k: _plain(v) for k, v in before.items()},
         "after": None if after is None else {k: _plain(v) for k, v in after.items()}}
        for action, object_type, object_id, before, after in rows])


@event.listens_for(Session, "after_flush")
def _capture(session: Session, flush_context) -> None:
    """Note what this flush wrote, and who wrote it (the actor now, not at commit); the entries
    are appended just before commit."""
    actor = current_actor()
    actor_lab = actor.lab_id
    pending = session.info.setdefault("audit_pending", {})
    for action, objs in ((AuditAction.INSERT, session.new), (AuditAction.UPDATE, session.dirty),
                         (AuditAction.DELETE, session.deleted)):
        for obj in objs:
            if not getattr(obj, "__audit__", True) or not hasattr(obj, "__tablename__"):
                continue
            if action == AuditAction.INSERT:
                before, after = None, _columns(obj)
            elif action == AuditAction.DELETE:
                before, after = _columns(obj), None
            else:
                before, after = _changes(obj)
                if not after:
                    continue
            pending.setdefault(_chain_key(obj, actor_lab), []).append(
                {"action": action, "object_type": obj.__tablename__,
                 "object_id": _object_id(obj), "before": before, "after": after,
                 "actor": actor})


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    # Commit flushes only after this hook: flush now so changes nobody flushed yet are audited
    # in this transaction, not carried into the next one.
    session.flush()
    _append_pending(session)


def _append_pending(session: Session) -> None:
    pending = session.info.pop("audit_pending", {})
    for chain_key in sorted(pending):
        append(session, chain_key, pending[chain_key])


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop("audit_pending", None)


def record_read(session: Session, *, lab_id: int, object_type: str, object_id: str,
                detail: dict) -> None:
    """Audit a read that must be on record: a query across a lab boundary (the network reads
    another lab's data) or a disclosure such as an item's court chain-of-custody report."""
    append(session, lab_id, [{"action": AuditAction.READ, "object_type": object_type,
                              "object_id": object_id, "before": None, "after": detail}])


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""
    first_bad_id: int | None = None


def verify_audit_chain(session: Session, chain_key: int) -> ChainReport:
    """Recompute every hash of one lab's audit entries; name the first that does not fit.

    Entries of the old per-lab chain must link gaplessly; every later entry must match its own
    salted hash. That a later entry was not removed or reordered is the ledger's to show
    (``ballistics.ledger.verify``): this checks each entry's content only.
    """
    prev, count = GENESIS, 0
    rows = session.execute(select(AuditEntry).where(AuditEntry.chain_key == chain_key)
                           .order_by(AuditEntry.seq.is_(None), AuditEntry.seq, AuditEntry.id)
                           ).scalars()
    for count, entry in enumerate(rows, start=1):
        payload = hashed_payload({name: getattr(entry, name) for name in HASHED_FIELDS})
        if entry.seq is None:
            if (not entry.prev_hash.startswith(SALT_PREFIX)
                    or chain_hash(entry.prev_hash, payload) != entry.hash):
                return ChainReport(False, count, None, f"audit entry {entry.id} does not match "
                                   "its hash", entry.id)
            continue
        if entry.seq != count:
            return ChainReport(False, count, entry.seq, f"entry {count} is missing", entry.id)
        if entry.prev_hash != prev or chain_hash(prev, payload) != entry.hash:
            return ChainReport(False, count, entry.seq,
                               f"audit entry {entry.seq} does not match its hash", entry.id)
        prev = entry.hash
    return ChainReport(True, count)
