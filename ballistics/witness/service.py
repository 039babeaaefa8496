"""The witness itself: check a checkpoint against what it saw before, cosign, persist.

Independent of HTTP routing, so the stand-alone witness process and (later) the regional hub's
blueprint share it. Follows C2SP tlog-witness ``add-checkpoint`` rule by rule; each refusal
raises ``WitnessError`` with the status code the specification assigns.

The check of ``old`` against the stored size and the update to the new size are one
conditional UPDATE (``... WHERE size = :old AND root_hash = :old_root``), so two requests racing
from the same old size cannot both win and the stored size can never move backwards (the race
the specification warns about). The loser answers 409 with the new size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ballistics.core.timeutil import utcnow
from ballistics.ledger import checkpoints, merkle, notes
from ballistics.ledger.tlog_witness import AddCheckpointRequest, MalformedRequest
from ballistics.witness.models import (
    CosignedCheckpoint,
    LogKey,
    Refusal,
    RefusalReason,
    WitnessedLog,
)


class WitnessError(Exception):
    """A refused add-checkpoint: ``status`` is the HTTP code tlog-witness prescribes."""

    def __init__(self, status: int, message: str, known_size: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.known_size = status, message, known_size


def origin_hash(origin: str) -> str:
    return hashlib.sha256(origin.encode()).hexdigest()


@dataclass(frozen=True)
class LogInfo:
    origin: str
    vkeys: tuple[str, ...]
    size: int
    root_hash: bytes | None


class Witness:
    """A witness named by its cosigning key, keeping state through ``sessions``."""

    def __init__(self, sessions: sessionmaker[Session], signer: notes.CosignatureSigner,
                 clock: Callable[[], int] | None = None) -> None:
        self.sessions = sessions
        self.signer = signer
        self._clock = clock

    @property
    def name(self) -> str:
        return self.signer.name

    def vkey(self) -> str:
        """The cosignature verifier key (type 0x04) clients configure for this witness."""
        return self.signer.verifier().vkey()

    # -- add-checkpoint ---------------------------------------------------------------------

    def add_checkpoint(self, body: bytes) -> list[notes.Signature]:
        """Process one add-checkpoint request body; return the cosignature(s) to send."""
        try:
            req = AddCheckpointRequest.parse(body)
            note = notes.parse_note(req.checkpoint)
            cp = checkpoints.Checkpoint.parse(note.text)
        except (MalformedRequest, notes.NoteError, checkpoints.CheckpointError) as exc:
            raise WitnessError(400, f"malformed request: {exc}") from exc

        with self.sessions() as session:
            log = session.scalar(select(WitnessedLog).where(WitnessedLog.origin == cp.origin))
            if log is None:
                raise WitnessError(404, f"unknown log origin {cp.origin!r}")
            opened = self._verify_log_signature(log, note)
            if req.old_size > cp.size:
                raise WitnessError(400, f"old size {req.old_size} is larger than the "
                                   f"checkpoint size {cp.size}")
            if req.old_size != log.size:
                raise WitnessError(409, f"the latest cosigned size is {log.size}",
                                   known_size=log.size)
            self._check_consistency(session, log, req, cp, body)

            timestamp = self._clock() if self._clock else None
            cosig_bytes = self.signer.sign(note.text.encode(), timestamp)
            cosig = notes.Signature(self.signer.name, self.signer.key_id, cosig_bytes)
            ts = notes.cosignature_timestamp(cosig_bytes)
            # Keep the log's verified signatures only: unknown lines are not ours to vouch for.
            kept = notes.Note(note.text, (*(s for s, _ in opened.verified), cosig))
            stored = kept.encode().decode()
            old_root = log.root_hash
            result = session.execute(
                update(WitnessedLog)
                .where(WitnessedLog.id == log.id, WitnessedLog.size == req.old_size,
                       (WitnessedLog.root_hash == old_root) if old_root is not None
                       else WitnessedLog.root_hash.is_(None))
                .values(size=cp.size, root_hash=cp.root_hash, note=stored,
                        updated_at=utcnow())
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                session.rollback()
                size = session.scalar(select(WitnessedLog.size)
                                      .where(WitnessedLog.id == log.id))
                raise WitnessError(409, f"the latest cosigned size is {size}", known_size=size)
            session.add(CosignedCheckpoint(log_id=log.id, size=cp.size, root_hash=cp.root_hash,
                                           note=stored, cosigned_at_unix=ts))
            session.commit()
        return [cosig]

    def _verify_log_signature(self, log: WitnessedLog, note: notes.Note) -> notes.OpenedNote:
        try:
            verifiers = [notes.parse_verifier_key(k.vkey) for k in log.keys]
            return notes.open_note(note, verifiers)
        except notes.InvalidSignature as exc:
            raise WitnessError(403, f"the log signature does not verify: {exc}") from exc
        except notes.UnverifiedNote as exc:
            raise WitnessError(403, "the checkpoint carries no signature from a key trusted "
                               f"for {log.origin!r}") from exc
        except notes.NoteError as exc:
            raise WitnessError(403, f"cannot check the log signature: {exc}") from exc

    def _check_consistency(self, session: Session, log: WitnessedLog, req: AddCheckpointRequest,
                           cp: checkpoints.Checkpoint, body: bytes) -> None:
        """The 422 rules; a refused but correctly signed checkpoint is kept as evidence."""
        reason = detail = None
        if cp.size == 0 and cp.root_hash != merkle.EMPTY_ROOT:
            reason, detail = RefusalReason.BAD_EMPTY_TREE, "a checkpoint of size 0 must carry " \
                "the root hash of the empty tree"
        elif req.old_size == 0:
            if req.proof:
                reason, detail = RefusalReason.INCONSISTENT, "old size 0 needs an empty proof"
        else:
            try:
                merkle.verify_consistency(req.old_size, cp.size, list(req.proof),
                                          log.root_hash or b"", cp.root_hash)
            except merkle.ProofError as exc:
                reason = RefusalReason.INCONSISTENT
                detail = (f"checkpoint {cp.size} is not an extension of the cosigned "
                          f"checkpoint {req.old_size}: {exc}")
        if reason is None:
            return
        try:
            session.add(Refusal(log_id=log.id, reason=reason, detail=detail,
                                old_size=req.old_size,
                                request=body.decode("utf-8", errors="replace")))
            session.commit()
        except IntegrityError:  # the log was removed meanwhile; the refusal still stands
            session.rollback()
        raise WitnessError(422, detail)

    # -- monitoring ----------------------------------------------------------------------------

    def latest_checkpoint(self, hashed_origin: str) -> str | None:
        """The latest cosigned checkpoint of the log whose origin hashes to ``hashed_origin``."""
        with self.sessions() as session:
            return session.scalar(select(WitnessedLog.note)
                                  .where(WitnessedLog.origin_hash == hashed_origin))

    def history(self, origin: str) -> list[tuple[int, int, str]]:
        """Every cosigned checkpoint of a log: (size, cosignature time, note)."""
        with self.sessions() as session:
            rows = session.execute(
                select(CosignedCheckpoint.size, CosignedCheckpoint.cosigned_at_unix,
                       CosignedCheckpoint.note)
                .join(WitnessedLog, WitnessedLog.id == CosignedCheckpoint.log_id)
                .where(WitnessedLog.origin == origin).order_by(CosignedCheckpoint.id))
            return [tuple(r) for r in rows]

    def refusals(self, origin: str) -> list[tuple[str, str]]:
        with self.sessions() as session:
            rows = session.execute(
                select(Refusal.reason, Refusal.detail)
                .join(WitnessedLog, WitnessedLog.id == Refusal.log_id)
                .where(WitnessedLog.origin == origin).order_by(Refusal.id))
            return [(r.value, d) for r, d in rows]

    # -- the allowlist -------------------------------------------------------------------------

    def add_log(self, origin: str, vkey: str) -> None:
        """Trust ``vkey`` for checkpoints of ``origin`` (adding the log if new)."""
        checkpoints.Checkpoint(origin, 0, merkle.EMPTY_ROOT)  # validates the origin line
        verifier = notes.parse_verifier_key(vkey)
        if isinstance(verifier, notes.CosignatureVerifier):
            raise notes.NoteError("a log signs with a type 0x01 key, not a cosignature key")
        with self.sessions() as session:
            log = session.scalar(select(WitnessedLog).where(WitnessedLog.origin == origin))
            if log is None:
                log = WitnessedLog(origin=origin, origin_hash=origin_hash(origin), size=0)
                session.add(log)
            if vkey not in {k.vkey for k in log.keys}:
                log.keys.append(LogKey(vkey=vkey))
            session.commit()

    def remove_key(self, origin: str, vkey: str) -> bool:
        with self.sessions() as session:
            log = session.scalar(select(WitnessedLog).where(WitnessedLog.origin == origin))
            key = next((k for k in log.keys if k.vkey == vkey), None) if log else None
            if key is None:
                return False
            log.keys.remove(key)
            session.commit()
            return True

    def logs(self) -> list[LogInfo]:
        with self.sessions() as session:
            return [LogInfo(log.origin, tuple(k.vkey for k in log.keys), log.size,
                            log.root_hash)
                    for log in session.scalars(select(WitnessedLog)
                                               .order_by(WitnessedLog.origin))]
