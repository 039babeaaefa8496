"""Checkpoints: sign the lab's tree head with the lab key (C2SP tlog-checkpoint in a signed
note) and have the configured witnesses cosign it (C2SP tlog-witness). Every checkpoint and
every cosignature is kept.

Before signing, the stored tree must still agree with the latest witnessed checkpoint (its root
at that size); if it does not, the lab key refuses to sign and the log's alarm says why: the
database was rewritten below a witnessed checkpoint. A witness that refuses a checkpoint as not
an extension (422), or holds a larger tree than the log, sets that witness's alarm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ballistics.auth.models import Lab
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.ledger import checkpoints, labkeys, merkle, notes, witness_client, witnesses
from ballistics.ledger.keys import PublicKey
from ballistics.ledger.models import LedgerCheckpoint, LedgerCosignature, LedgerLog, LedgerWitness
from ballistics.ledger.sealer import ensure_log, lock_log, seal_all
from ballistics.ledger.store import MissingNode, StoredTree

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 300


class LogMismatch(RuntimeError):
    """The stored tree contradicts a witnessed checkpoint (or itself): nothing is signed."""


@dataclass(frozen=True)
class Cosignature:
    vkey: str
    cosigned_at: datetime
    line: str


@dataclass(frozen=True)
class CheckpointInfo:
    id: int
    lab_id: int
    size: int
    root_hash: bytes
    note: str
    vkey: str
    created_at: datetime
    cosignatures: tuple[Cosignature, ...] = ()

    def signed_note(self) -> bytes:
        """The note with the lab's signature and every stored cosignature."""
        note = notes.parse_note(self.note)
        extra = [notes.Signature.parse_line(c.line.rstrip("\n")) for c in self.cosignatures]
        return note.with_signatures(extra).encode()

    def opened(self, log_keys: list[PublicKey]) -> checkpoints.SignedCheckpoint:
        """Verified with the lab's keys and the configured witness keys (never keys from the
        database)."""
        return checkpoints.open_checkpoint(self.signed_note(), [k.verifier for k in log_keys],
                                           witnesses.verifiers())

    def witnessed_by(self, log_keys: list[PublicKey]) -> list[tuple[str, int]]:
        """(witness name, POSIX time) of every cosignature that verifies with a configured
        witness key, while the lab key that signed was in force; [] if none or the note does not
        verify."""
        try:
            opened = self.opened(log_keys)
        except (notes.NoteError, checkpoints.CheckpointError):
            return []
        signing = [k for k in log_keys for s, _ in opened.opened.verified
                   if (s.name, s.key_id) == (k.verifier.name, k.verifier.key_id)]
        return [(name, ts) for name, ts in opened.cosignatures()
                if any(k.valid_at(ts) for k in signing)]


@dataclass
class WitnessOutcome:
    witness: str
    ok: bool
    message: str = ""
    alarm: bool = False


@dataclass
class Anchor:
    """The checkpoint a report rests on, and what happened while getting it."""

    checkpoint: CheckpointInfo | None
    witnessed: list[tuple[str, int]] = field(default_factory=list)
    outcomes: list[WitnessOutcome] = field(default_factory=list)
    problem: str = ""


def _info(session: Session, row: LedgerCheckpoint) -> CheckpointInfo:
    cosigs = session.scalars(select(LedgerCosignature).where(
        LedgerCosignature.checkpoint_id == row.id).order_by(LedgerCosignature.id))
    return CheckpointInfo(row.id, row.lab_id, row.size, row.root_hash, row.note, row.vkey,
                          row.created_at, tuple(Cosignature(c.vkey, c.cosigned_at, c.line)
                                                for c in cosigs))


def lab_keys(session: Session, lab_id: int) -> list[PublicKey]:
    ledger = session.get(LedgerLog, lab_id)
    code = session.scalar(select(Lab.code).where(Lab.id == lab_id))
    return labkeys.public_keys(code, ledger.origin)


def checkpoints_of(session: Session, lab_id: int) -> list[CheckpointInfo]:
    """Every checkpoint of the lab, oldest first."""
    rows = session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.lab_id == lab_id)
                           .order_by(LedgerCheckpoint.size, LedgerCheckpoint.id)).all()
    return [_info(session, r) for r in rows]


def latest(session: Session, lab_id: int) -> CheckpointInfo | None:
    row = session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.lab_id == lab_id)
                          .order_by(LedgerCheckpoint.size.desc(), LedgerCheckpoint.id.desc())
                          .limit(1)).first()
    return _info(session, row) if row else None


def latest_witnessed(session: Session, lab_id: int, keys: list[PublicKey]
                     ) -> CheckpointInfo | None:
    """The largest checkpoint with a good cosignature by a configured witness."""
    rows = session.scalars(
        select(LedgerCheckpoint).where(LedgerCheckpoint.lab_id == lab_id,
                                       LedgerCheckpoint.id.in_(
                                           select(LedgerCosignature.checkpoint_id)))
        .order_by(LedgerCheckpoint.size.desc(), LedgerCheckpoint.id.desc()))
    for row in rows:
        info = _info(session, row)
        if info.witnessed_by(keys):
            return info
    return None


def make_checkpoint(lab_id: int) -> CheckpointInfo:
    """Sign the log's current tree head (or return the latest checkpoint if the log did not
    grow since). Raises ``LogMismatch`` (and sets the log's alarm) instead of signing a tree
    that contradicts a witnessed checkpoint."""
    ensure_log(lab_id)
    with Session(db.engine, expire_on_commit=False) as session:
        ledger = lock_log(session, lab_id, wait=True)
        current = latest(session, lab_id)
        if current is not None and current.size == ledger.size:
            return current
        try:
            root = _checked_root(session, ledger)
        except LogMismatch as exc:
            session.rollback()
            _raise_alarm(lab_id, str(exc))
            raise
        code = session.scalar(select(Lab.code).where(Lab.id == lab_id))
        signer = labkeys.keyring(code, ledger.origin).signer()
        note = checkpoints.sign_checkpoint(
            checkpoints.Checkpoint(ledger.origin, ledger.size, root), signer)
        row = LedgerCheckpoint(lab_id=lab_id, size=ledger.size, root_hash=root,
                               note=note.encode().decode(), vkey=signer.verifier().vkey(),
                               created_at=utcnow())
        session.add(row)
        session.commit()
        return _info(session, row)


def _checked_root(session: Session, ledger: LedgerLog) -> bytes:
    """The root of the stored tree, after checking that the stored nodes, the compact range
    and the latest witnessed checkpoint all agree."""
    tree = StoredTree(session, ledger.lab_id, ledger.size)
    edge = merkle.CompactRange(ledger.size, [bytes.fromhex(h) for h in ledger.edge])
    try:
        root = tree.root()
    except MissingNode as exc:
        raise LogMismatch(f"the stored tree is incomplete: {exc}") from exc
    if root != edge.root():
        raise LogMismatch("the stored tree nodes and the log's right edge disagree")
    anchor = latest_witnessed(session, ledger.lab_id, lab_keys(session, ledger.lab_id))
    if anchor is not None:
        if anchor.size > ledger.size:
            raise LogMismatch(f"the log holds {ledger.size} entries but a witness cosigned "
                              f"{anchor.size}: entries were removed")
        if tree.root(anchor.size) != anchor.root_hash:
            raise LogMismatch(f"the stored tree at size {anchor.size} does not match the "
                              f"checkpoint witnessed at that size (checkpoint {anchor.id}): "
                              "entries up to that size were rewritten")
    return root


def _raise_alarm(lab_id: int, message: str) -> None:
    log.error("ledger: lab %s: %s", lab_id, message)
    with Session(db.engine) as session:
        session.execute(update(LedgerLog).where(LedgerLog.lab_id == lab_id)
                        .values(alarm=f"{utcnow():%Y-%m-%d %H:%M:%S} UTC: {message}"))
        session.commit()


def witness(lab_id: int, checkpoint: CheckpointInfo | None = None, *, force: bool = False
            ) -> list[WitnessOutcome]:
    """Send a checkpoint (default: the latest) to every configured witness that has not
    cosigned it; store the cosignatures. Witnesses in back-off are skipped unless ``force``."""
    outcomes = []
    with Session(db.engine, expire_on_commit=False) as session:
        checkpoint = checkpoint or latest(session, lab_id)
        if checkpoint is None:
            return []
        have = {c.vkey for c in checkpoint.cosignatures}
        for w in witnesses.configured():
            vkey = w.verifier.vkey()
            if vkey in have:
                continue
            state = session.get(LedgerWitness, (lab_id, vkey))
            if state is None:
                state = LedgerWitness(lab_id=lab_id, vkey=vkey, size=0, failures=0,
                                      last_error="", alarm="")
                session.add(state)
            now = utcnow()
            if state.size > checkpoint.size or (
                    not force and state.next_attempt_at and state.next_attempt_at > now):
                continue
            outcomes.append(_submit(session, w, state, checkpoint))
            session.commit()
    return outcomes


def _submit(session: Session, w: witnesses.CosigningWitness, state: LedgerWitness,
            checkpoint: CheckpointInfo) -> WitnessOutcome:
    name = w.verifier.name
    state.last_attempt_at = utcnow()
    tree = StoredTree(session, checkpoint.lab_id, checkpoint.size)
    alarm = False
    try:
        sigs = w.submit(checkpoint.signed_note(),
                        lambda old: tree.consistency_proof(old, checkpoint.size), state.size)
    except witness_client.WitnessConflict as exc:
        alarm = exc.known_size > checkpoint.size
        message = (f"witness {name} has cosigned {exc.known_size} entries, more than this "
                   f"checkpoint's {checkpoint.size}: the log was rolled back or forked"
                   if alarm else str(exc))
    except witness_client.WitnessRefused as exc:
        alarm = exc.status == 422
        message = (f"witness {name} refused checkpoint {checkpoint.size} as not an extension "
                   f"of what it cosigned ({exc.message})" if alarm else str(exc))
    except (notes.NoteError, MissingNode, ValueError) as exc:
        message = f"witness {name}: {exc}"
    else:
        for sig in sigs:
            ts = notes.cosignature_timestamp(sig.signature)
            session.add(LedgerCosignature(
                checkpoint_id=checkpoint.id, vkey=w.verifier.vkey(), line=sig.line(),
                cosigned_at=datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)))
        try:
            session.flush()
        except IntegrityError:  # another process stored this witness's cosignature first
            session.rollback()
            return WitnessOutcome(name, True, "already cosigned")
        state.size = max(state.size, checkpoint.size)
        state.last_success_at, state.failures, state.last_error = utcnow(), 0, ""
        state.next_attempt_at = None
        return WitnessOutcome(name, True, f"cosigned size {checkpoint.size}")
    log.log(logging.ERROR if alarm else logging.WARNING, "ledger: lab %s: %s",
            checkpoint.lab_id, message)
    state.failures += 1
    state.last_error = message[:2000]
    state.next_attempt_at = utcnow() + timedelta(
        seconds=min(2 ** state.failures, MAX_BACKOFF_SECONDS))
    if alarm:
        state.alarm = f"{utcnow():%Y-%m-%d %H:%M:%S} UTC: {message}"[:2000]
    return WitnessOutcome(name, False, message, alarm)


def periodic(lab_id: int) -> None:
    """The worker's timer: a checkpoint when the log grew and the last one is older than
    ``LEDGER_CHECKPOINT_SECONDS``; witnesses that missed the latest one are asked again."""
    with Session(db.engine) as session:
        ledger = session.get(LedgerLog, lab_id)
        current = latest(session, lab_id)
    if ledger is None or ledger.alarm:
        return
    every = current_app.config["LEDGER_CHECKPOINT_SECONDS"]
    if ledger.size and (current is None or (
            current.size < ledger.size
            and (utcnow() - current.created_at).total_seconds() >= every)):
        try:
            current = make_checkpoint(lab_id)
        except LogMismatch:
            return
    if current is not None:
        witness(lab_id, current)


def anchor(lab_id: int, min_size: int) -> Anchor:
    """A checkpoint covering the first ``min_size`` entries, witnessed if the witnesses
    answer: the latest such witnessed checkpoint, else a new one is signed and sent to the
    witnesses now (a court report must not wait for the timer)."""
    seal_all(lab_id)
    with Session(db.engine, expire_on_commit=False) as session:
        keys = lab_keys(session, lab_id)
        best = latest_witnessed(session, lab_id, keys)
        current = latest(session, lab_id)
    if best is not None and best.size >= min_size:
        return Anchor(best, best.witnessed_by(keys))
    try:
        if current is None or current.size < min_size:
            current = make_checkpoint(lab_id)
    except LogMismatch as exc:
        return Anchor(best, best.witnessed_by(keys) if best else [], problem=str(exc))
    outcomes = witness(lab_id, current, force=True)
    with Session(db.engine, expire_on_commit=False) as session:
        refreshed = _info(session, session.get(LedgerCheckpoint, current.id))
    return Anchor(refreshed, refreshed.witnessed_by(keys), outcomes)
