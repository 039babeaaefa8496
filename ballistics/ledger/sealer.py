"""Sealing: give each new custody event and audit entry of a lab its position in the lab's log
and extend the Merkle tree, in order, by one sealer per lab at a time.

Writers only insert their rows; nothing here runs in their transactions. The sealer takes the
lab's ``ledger_logs`` row (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so a second sealer moves on;
SQLite serialises writers itself), finds the rows committed since its last run, re-derives each
row's hash from its fields (a row altered before sealing is refused and reported, not sealed),
appends the leaves to the compact range and stores the new leaves and perfect nodes.

Finding new rows without a lab-wide lock: ids come from a sequence, but transactions commit in
any order, so a row with a smaller id can appear after a larger one was sealed. The cursor keeps
the highest id seen (``high``) and the ids missing below it (``holes``: a transaction still in
flight, or a rolled-back insert); each run looks at ``id > high`` and at the holes. A hole older
than ``LEDGER_HOLE_SECONDS`` is dropped as a rollback; the sweep (``LEDGER_SWEEP_SECONDS``, an
anti-join) still seals any row found later. Rows of every lab share the id sequence, so the
cursor reads ids of all labs and keeps the rows of its own (at the hub, the hub's log also keeps
the network records, audit entries of no lab: ``ballistics.ledger.hublog``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ballistics.auth.models import Lab
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.ledger import merkle
from ballistics.ledger.bulk import chunks, insert_rows
from ballistics.ledger.hublog import chains_of
from ballistics.ledger.labkeys import origin_for
from ballistics.ledger.leaves import KIND_ORDER, SOURCES, Source, leaf_hash
from ballistics.ledger.models import LedgerLeaf, LedgerLog, LedgerNode

log = logging.getLogger(__name__)

#: rows read per source and run (a larger backlog is sealed over several runs)
BATCH = 5000
#: past this many hole ranges the cursor reads the span they cover instead of each range
MAX_HOLE_TERMS = 100
#: refused rows remembered in the cursor (the verifier finds every one anyway)
MAX_REFUSED = 1000


@dataclass
class SealResult:
    lab_id: int
    sealed: int = 0
    size: int = 0
    #: another sealer holds the lab's log right now
    skipped: bool = False
    #: more rows wait than one run takes
    more: bool = False
    refused: list[str] = field(default_factory=list)


#: (database URL, lab id) of the logs known to exist, so a sealing run costs no extra query
_known_logs: set[tuple[str, int]] = set()


def ensure_log(lab_id: int) -> None:
    """Create the lab's log row if it has none (safe when two processes race)."""
    key = (str(db.engine.url), lab_id)
    if key in _known_logs:
        return
    with Session(db.engine) as session:
        if session.get(LedgerLog, lab_id) is not None:
            _known_logs.add(key)
            return
        code = session.scalar(select(Lab.code).where(Lab.id == lab_id))
        if code is None:
            raise LookupError(f"no lab {lab_id}")
        now = utcnow()
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(LedgerLog).values(
            lab_id=lab_id, origin=origin_for(code), size=0, edge=[], scan={}, swept_at=now,
            updated_at=now).on_conflict_do_nothing())
        session.commit()
    _known_logs.add(key)


def lock_log(session: Session, lab_id: int, *, wait: bool) -> LedgerLog | None:
    """Take the lab's log for this transaction; None if another sealer holds it and
    ``wait`` is false."""
    if session.bind.dialect.name == "sqlite":
        # A write first: SQLite grants this transaction the database's write lock now (waiting
        # up to busy_timeout), before anything is read, so what it reads stays current.
        session.execute(update(LedgerLog).where(LedgerLog.lab_id == lab_id)
                        .values(updated_at=utcnow()))
        return session.get(LedgerLog, lab_id)
    return session.scalar(select(LedgerLog).where(LedgerLog.lab_id == lab_id)
                          .with_for_update(skip_locked=not wait))


def seal_lab(lab_id: int, *, wait: bool = False, batch: int = BATCH) -> SealResult:
    """One sealing run for one lab, in its own transaction (never the caller's)."""
    ensure_log(lab_id)
    config = current_app.config
    chains = chains_of(lab_id)  # before the lock: it reads the labs on a connection of its own
    now = time.time()
    with Session(db.engine, expire_on_commit=False) as session:
        ledger = lock_log(session, lab_id, wait=wait)
        if ledger is None:
            return SealResult(lab_id, skipped=True)
        scan = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in ledger.scan.items()}
        refused_ids = {(kind, source_id) for kind, source_id, _ in scan.get("refused", [])}
        found: list[tuple[Source, object]] = []
        more = False
        for kind, source in SOURCES.items():
            state = scan.setdefault(kind.value, {"high": 0, "holes": []})
            ids, truncated = _discover(session, source, chains, state, now,
                                       config["LEDGER_HOLE_SECONDS"], batch)
            more = more or truncated
            found += [(source, row) for row in _load(session, source, ids)]
        sweep_due = (ledger.swept_at is None or (utcnow() - ledger.swept_at).total_seconds()
                     >= config["LEDGER_SWEEP_SECONDS"])
        if sweep_due and not more:
            seen = {(s.kind.value, r.id) for s, r in found} | refused_ids
            for kind, source in SOURCES.items():
                ids = [i for i in _unsealed(session, source, chains, scan[kind.value]["high"],
                                            batch) if (kind.value, i) not in seen]
                if ids:
                    log.warning("ledger: the sweep found %d unsealed %s row(s) of lab %s",
                                len(ids), source.label, lab_id)
                found += [(source, row) for row in _load(session, source, ids)]
            ledger.swept_at = utcnow()

        found.sort(key=lambda sr: (sr[0].time(sr[1]._mapping), KIND_ORDER[sr[0].kind],
                                   sr[1].id))
        edge = merkle.CompactRange(ledger.size, [bytes.fromhex(h) for h in ledger.edge])
        leaves, nodes, refused = [], [], []
        sealed_at = utcnow()
        for source, row in found:
            row_map = row._mapping
            if source.recomputed_hash(row_map) != row_map["hash"]:
                reason = (f"{source.label} {row.id} does not match its own hash: altered before "
                          "it was sealed; not sealed")
                log.error("ledger: lab %s: %s", lab_id, reason)
                refused.append([source.kind.value, row.id, reason])
                continue
            position = edge.size
            # the row's own lab (0 for a network record at the hub), as the verifier derives it
            created = edge.append(leaf_hash(source.kind.value, row_map[source.lab_column],
                                            row.id, row_map["hash"]))
            leaves.append({"lab_id": lab_id, "position": position, "kind": source.kind,
                           "source_id": row.id, "leaf_hash": created[0].hash,
                           "recorded_at": source.time(row_map), "sealed_at": sealed_at})
            nodes += [{"lab_id": lab_id, "level": n.level, "idx": n.index, "hash": n.hash}
                      for n in created[1:]]
        conn = session.connection()
        insert_rows(conn, LedgerLeaf.__table__, leaves)
        insert_rows(conn, LedgerNode.__table__, nodes)
        if refused:
            scan["refused"] = (scan.get("refused", []) + refused)[-MAX_REFUSED:]
        ledger.size = edge.size
        ledger.edge = [h.hex() for h in edge.hashes]
        ledger.scan = scan
        ledger.updated_at = utcnow()
        session.commit()
        return SealResult(lab_id, len(leaves), edge.size, more=more,
                          refused=[r[2] for r in refused])


def seal_all(lab_id: int, *, wait: bool = True) -> SealResult:
    """Seal until nothing of the lab is left waiting (on demand: a report, the CLI)."""
    total = SealResult(lab_id)
    while True:
        result = seal_lab(lab_id, wait=wait)
        total.sealed += result.sealed
        total.size, total.skipped = result.size, result.skipped
        total.refused += result.refused
        if not result.more or result.skipped:
            return total


def _discover(session: Session, source: Source, chains: tuple[int, ...], state: dict,
              now: float, hole_seconds: float, limit: int) -> tuple[list[int], bool]:
    """Ids of this log's rows (of its ``chains``) that appeared since the last run; updates
    ``state``."""
    found: list[int] = []
    holes = [list(h) for h in state.get("holes", [])]
    if holes:
        if len(holes) <= MAX_HOLE_TERMS:
            cond = or_(*(source.id.between(lo, hi) for lo, hi, _ in holes))
        else:
            cond = source.id.between(min(h[0] for h in holes), max(h[1] for h in holes))
        present = [r for r in session.execute(select(source.id, source.lab).where(cond))
                   if _in_holes(r.id, holes)]
        found += [r.id for r in present if r[1] in chains]
        holes = _subtract(holes, {r.id for r in present})
    high = state.get("high", 0)
    rows = session.execute(select(source.id, source.lab).where(source.id > high)
                           .order_by(source.id).limit(limit)).all()
    if rows:
        prev = high
        for r in rows:
            if r.id > prev + 1:
                holes.append([prev + 1, r.id - 1, now])
            prev = r.id
        high = rows[-1].id
        found += [r.id for r in rows if r[1] in chains]
    state["high"] = high
    state["holes"] = [h for h in holes if now - h[2] < hole_seconds]
    return found, len(rows) == limit


def _in_holes(i: int, holes: list[list]) -> bool:
    return any(lo <= i <= hi for lo, hi, _ in holes)


def _subtract(holes: list[list], ids: set[int]) -> list[list]:
    """The hole ranges without ``ids`` (a range split where an id filled it)."""
    out = []
    for lo, hi, since in holes:
        start = lo
        for i in sorted(i for i in ids if lo <= i <= hi):
            if i > start:
                out.append([start, i - 1, since])
            start = i + 1
        if start <= hi:
            out.append([start, hi, since])
    return out


def _load(session: Session, source: Source, ids: list[int]) -> list:
    """The rows to seal; any already sealed is left out (it cannot be sealed twice, and a
    cursor put back by hand must not stop the sealer on the unique constraint)."""
    rows = []
    for chunk in chunks(sorted(ids), 1000):
        sealed = exists().where(LedgerLeaf.kind == source.kind,
                                LedgerLeaf.source_id == source.id)
        rows += session.execute(select(source.table).where(source.id.in_(chunk), ~sealed)).all()
    return rows


def _unsealed(session: Session, source: Source, chains: tuple[int, ...], high: int, limit: int
               ) -> list[int]:
    """The sweep: this log's rows up to ``high`` that have no leaf (an anti-join)."""
    sealed = exists().where(LedgerLeaf.kind == source.kind, LedgerLeaf.source_id == source.id)
    return list(session.scalars(select(source.id).where(source.lab.in_(chains),
                                                        source.id <= high,
                                                        ~sealed).order_by(source.id)
                                .limit(limit)))
