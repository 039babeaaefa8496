"""Verifying a lab's log against what others hold: the witnesses' cosigned checkpoints.

Every leaf is recomputed from its source row (the row's fields give its hash, the hash gives the
leaf), the tree is rebuilt from the recomputed leaves, and its root at each checkpoint's size is
compared with the checkpoint. Witnessed checkpoints count only with a cosignature that verifies
with a witness key from configuration; the witnesses are also asked for the latest checkpoint
they cosigned, so deleting the lab's own copies of checkpoints does not help a rewrite.

A database owner who alters a row and recomputes every later hash, the item's head and the
stored leaves and nodes gets a consistent database, but its root no longer matches the
checkpoints witnessed after the altered row was sealed: the report names the first entry after
the last witnessed checkpoint that still matches (the alteration is at or after it, before the
first witnessed checkpoint that does not). A cruder edit is named exactly (the row no longer
matches its own hash, or its stored leaf).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ballistics.core.timeutil import canonical
from ballistics.evidence.models import Item
from ballistics.extensions import db
from ballistics.ledger import checkpoints, merkle, notes, witnesses
from ballistics.ledger.checkpointing import CheckpointInfo, checkpoints_of, lab_keys
from ballistics.ledger.hublog import NETWORK_CHAIN, chains_of
from ballistics.ledger.keys import PublicKey
from ballistics.ledger.leaves import SOURCES, Source, leaf_hash
from ballistics.ledger.models import LeafKind, LedgerLeaf, LedgerLog, LedgerWitness
from ballistics.ledger.store import MissingNode, StoredTree

BATCH = 2000


@dataclass
class Witnessed:
    """A checkpoint someone else vouches for: its size and root, who cosigned and when."""

    size: int
    root_hash: bytes
    by: list[tuple[str, int]]
    source: str  # "checkpoint 12 in the database" or "witness W, asked now"

    def who(self) -> str:
        return ", ".join(f"{name} at {_when(ts)}" for name, ts in self.by)


@dataclass
class LedgerVerification:
    lab_id: int
    origin: str
    size: int
    ok: bool = True
    #: every check made, in words
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: the largest witnessed size that still matches the recomputed log (None: no witness)
    last_consistent: int | None = None
    #: the first position that cannot be relied upon, and that entry in words
    first_bad_position: int | None = None
    first_bad_entry: str | None = None
    unsealed: int = 0

    def fail(self, message: str, position: int | None = None, entry: str | None = None
             ) -> None:
        self.ok = False
        self.problems.append(message)
        if position is not None and (self.first_bad_position is None
                                     or position < self.first_bad_position):
            self.first_bad_position, self.first_bad_entry = position, entry

    def summary(self) -> str:
        if self.ok:
            anchor = (f"the latest witnessed checkpoint covers {self.last_consistent} of "
                      f"{self.size} entries" if self.last_consistent is not None
                      else "no witnessed checkpoint yet")
            return f"log {self.origin}: {self.size} entries verified; {anchor}"
        where = (f"; first entry that cannot be relied upon: position {self.first_bad_position}"
                 f", {self.first_bad_entry}" if self.first_bad_position is not None else "")
        return f"log {self.origin}: BROKEN: {self.problems[0]}{where}"


def _when(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe(session: Session, kind: LeafKind, source_id: int) -> str:
    """An entry in words, for a person reading the verification."""
    source = SOURCES[kind]
    row = session.execute(select(source.table).where(source.id == source_id)).first()
    if row is None:
        return f"{source.label} {source_id} (no longer in the database)"
    m = row._mapping
    if kind == LeafKind.CUSTODY_EVENT:
        barcode = session.scalar(select(Item.barcode).where(Item.id == m["item_id"]))
        return (f"custody event {source_id} (item {barcode}, event {m['seq']}, "
                f"{m['kind']}, {canonical(m['occurred_at'])})")
    return (f"audit entry {source_id} ({m['action']} {m['object_type']} {m['object_id']}, "
            f"{canonical(m['created_at'])})")


def _witnessed(session: Session, lab_id: int, origin: str, keys: list[PublicKey],
               result: LedgerVerification, ask_witnesses: bool
               ) -> tuple[list[Witnessed], list[CheckpointInfo]]:
    found, signed_only = [], []
    for cp in checkpoints_of(session, lab_id):
        try:
            opened = cp.opened(keys)
        except (notes.NoteError, checkpoints.CheckpointError) as exc:
            result.fail(f"checkpoint {cp.id} (size {cp.size}) does not verify with the lab's "
                        f"keys: {exc}")
            continue
        c = opened.checkpoint
        if (c.origin, c.size, c.root_hash) != (origin, cp.size, cp.root_hash):
            result.fail(f"checkpoint {cp.id}: its stored size or root differ from its signed "
                        "text")
            continue
        by = cp.witnessed_by(keys)
        if by:
            found.append(Witnessed(cp.size, cp.root_hash, by, f"checkpoint {cp.id}"))
        else:
            signed_only.append(cp)
    if not ask_witnesses:
        return found, signed_only
    for w in witnesses.configured():
        name = w.verifier.name
        try:
            note = w.latest(origin)
        except Exception as exc:  # any failure to ask is reported, not fatal
            result.lines.append(f"witness {name} could not be asked for its latest checkpoint: "
                                f"{exc}")
            continue
        if note is None:
            result.lines.append(f"witness {name} holds no checkpoint of this log")
            continue
        try:
            opened = checkpoints.open_checkpoint(note, [k.verifier for k in keys], [w.verifier])
        except (notes.NoteError, checkpoints.CheckpointError) as exc:
            result.fail(f"the latest checkpoint witness {name} holds does not verify with the "
                        f"lab's keys: {exc}")
            continue
        cosigs = [(n, ts) for n, ts in opened.cosignatures() if n == name]
        if opened.checkpoint.origin != origin or not cosigs:
            result.fail(f"witness {name} answered a checkpoint it did not cosign for {origin}")
            continue
        found.append(Witnessed(opened.checkpoint.size, opened.checkpoint.root_hash, cosigs,
                               f"witness {name}, asked now"))
        result.lines.append(f"witness {name} holds a checkpoint of size "
                            f"{opened.checkpoint.size}, cosigned at {_when(cosigs[0][1])}")
    return found, signed_only


def verify_lab(lab_id: int, *, ask_witnesses: bool = True) -> LedgerVerification:
    """Recompute the lab's log and check it against every checkpoint; see the module doc."""
    chains = chains_of(lab_id)
    with Session(db.engine) as session:
        ledger = session.get(LedgerLog, lab_id)
        if ledger is None:
            result = LedgerVerification(lab_id, "", 0)
            result.lines.append("the lab has no log yet (nothing sealed)")
            return result
        result = LedgerVerification(lab_id, ledger.origin, ledger.size)
        if NETWORK_CHAIN in chains:
            result.lines.append("this log also seals the hub's network records (audit entries "
                                "of no lab)")
        keys = lab_keys(session, lab_id)
        witnessed, signed_only = _witnessed(session, lab_id, ledger.origin, keys, result,
                                            ask_witnesses)
        by_size: dict[int, list[Witnessed | CheckpointInfo]] = defaultdict(list)
        for item in [*witnessed, *signed_only]:
            by_size[item.size].append(item)
        roots = _recompute(session, ledger, chains, result, by_size)
        _judge(session, ledger, result, witnessed, signed_only, roots)
        _unsealed(session, chains, ledger, result)
        for state in session.scalars(select(LedgerWitness).where(LedgerWitness.lab_id == lab_id)):
            if state.alarm:
                result.fail(f"witness alarm: {state.alarm}")
        if ledger.alarm:
            result.fail(f"log alarm: {ledger.alarm}")
        return result


def _recompute(session: Session, ledger: LedgerLog, chains: tuple[int, ...],
               result: LedgerVerification, by_size: dict) -> dict[int, bytes]:
    """Rebuild the tree from the source rows; return its root at every checkpoint size."""
    edge = merkle.CompactRange()
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    position = 0
    while True:
        leaves = session.execute(select(LedgerLeaf).where(
            LedgerLeaf.lab_id == ledger.lab_id, LedgerLeaf.position >= position)
            .order_by(LedgerLeaf.position).limit(BATCH)).scalars().all()
        if not leaves:
            break
        rows = _sources(session, leaves)
        for leaf in leaves:
            if leaf.position != edge.size:
                result.fail(f"position {edge.size} is missing from the stored log", edge.size,
                            "a removed leaf")
                return roots
            source = SOURCES[leaf.kind]
            row = rows.get((leaf.kind, leaf.source_id))
            entry = f"{source.label} {leaf.source_id}"
            if row is None:
                result.fail(f"position {leaf.position}: {entry} was deleted", leaf.position,
                            describe(session, leaf.kind, leaf.source_id))
                recomputed = leaf.leaf_hash
            else:
                record = source.recomputed_hash(row)
                if record != row["hash"]:
                    result.fail(f"position {leaf.position}: {entry} no longer matches its own "
                                "hash (altered)", leaf.position,
                                describe(session, leaf.kind, leaf.source_id))
                lab = row[source.lab_column]
                recomputed = leaf_hash(leaf.kind.value, lab, leaf.source_id, record)
                # a network record may stay in a log that no longer takes new ones (the hub's
                # HUB_LEDGER_LAB changed): still this log's, not another lab's
                if lab not in (*chains, NETWORK_CHAIN) or recomputed != leaf.leaf_hash:
                    result.fail(f"position {leaf.position}: the stored leaf does not match "
                                f"{entry}", leaf.position,
                                describe(session, leaf.kind, leaf.source_id))
            edge.append(recomputed)
            if edge.size in by_size:
                roots[edge.size] = edge.root()
        position = edge.size
    if edge.size != ledger.size:
        result.fail(f"the log says {ledger.size} entries but {edge.size} leaves are stored",
                    edge.size, "a removed leaf")
    result.lines.append(f"{edge.size} leaves recomputed from their custody events and audit "
                        "entries")
    try:
        stored = StoredTree(session, ledger.lab_id, min(edge.size, ledger.size)).root()
    except MissingNode as exc:
        result.fail(f"the stored tree is incomplete: {exc}")
    else:
        if stored != edge.root() and not result.problems:
            result.fail("the stored tree nodes do not match the recomputed leaves")
    return roots


def _sources(session: Session, leaves: list[LedgerLeaf]) -> dict:
    wanted: dict[LeafKind, list[int]] = defaultdict(list)
    for leaf in leaves:
        wanted[leaf.kind].append(leaf.source_id)
    out = {}
    for kind, ids in wanted.items():
        source: Source = SOURCES[kind]
        for row in session.execute(select(source.table).where(source.id.in_(ids))):
            out[kind, row.id] = row._mapping
    return out


def _judge(session: Session, ledger: LedgerLog, result: LedgerVerification,
           witnessed: list[Witnessed], signed_only: list[CheckpointInfo],
           roots: dict[int, bytes]) -> None:
    """Compare the recomputed roots with the checkpoints; name the first doubtful entry."""
    last_good: Witnessed | None = None
    for w in sorted(witnessed, key=lambda w: w.size):
        if w.size > ledger.size:
            result.fail(f"a checkpoint of {w.size} entries was witnessed ({w.source}, by "
                        f"{w.who()}) but the log holds {ledger.size}: entries were removed",
                        last_good.size if last_good else 0,
                        _entry_at(session, ledger.lab_id, last_good.size if last_good else 0))
            continue
        if roots.get(w.size) == w.root_hash:
            if last_good is None or w.size >= last_good.size:
                last_good = w
            result.lines.append(f"matches the checkpoint of size {w.size} witnessed by "
                                f"{w.who()} ({w.source})")
            continue
        start = last_good.size if last_good else 0
        result.fail(f"entries {start} to {w.size - 1} contradict the checkpoint of size "
                    f"{w.size} witnessed by {w.who()} ({w.source}): the log was rewritten "
                    f"after position {start}", start, _entry_at(session, ledger.lab_id, start))
    result.last_consistent = last_good.size if last_good else None
    for cp in signed_only:
        if cp.size <= ledger.size and roots.get(cp.size) != cp.root_hash:
            result.fail(f"checkpoint {cp.id} of size {cp.size} (signed by the lab, not "
                        "witnessed) does not match the recomputed log")
    if not witnessed:
        result.lines.append("no witnessed checkpoint: the log is consistent with itself, which "
                            "does not exclude a rewrite by the database owner")


def _entry_at(session: Session, lab_id: int, position: int) -> str:
    leaf = session.get(LedgerLeaf, (lab_id, position))
    return describe(session, leaf.kind, leaf.source_id) if leaf else "beyond the stored log"


def _unsealed(session: Session, chains: tuple[int, ...], ledger: LedgerLog,
              result: LedgerVerification) -> None:
    for kind, source in SOURCES.items():
        sealed = exists().where(LedgerLeaf.kind == kind, LedgerLeaf.source_id == source.id)
        n = session.scalar(select(func.count()).select_from(source.table)
                           .where(source.lab.in_(chains), ~sealed))
        result.unsealed += n or 0
    for _kind, _source_id, reason in ledger.scan.get("refused", []):
        result.fail(f"the sealer refused {reason}")
    if result.unsealed:
        result.lines.append(f"{result.unsealed} recent row(s) not sealed yet")
