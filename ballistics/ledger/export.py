"""The "export checkpoint" file: a witnessed checkpoint an outside party (a court registry, a
partner lab, an auditor) can keep and check later with nothing but public keys.

A JSON document (``ballistics.ledger.checkpoint-export/v1``)::

    {"format": ..., "origin": ..., "size": N, "root_hash": "<base64>",
     "checkpoint": "<the C2SP signed note: body, the lab's signature, witness cosignatures>",
     "log_keys": [{"vkey": ..., "valid_from": ..., "valid_until": ...}],
     "witnesses": ["<cosignature vkey>", ...], "exported_at": "<UTC>"}

``checkpoint`` alone is a standard signed note any C2SP tool reads. The keys inside the file
say which keys the lab *claims*; a verifier should pin keys obtained another way (the lab's
published key document, the witness operator) and pass them to ``verify_export``. Two exports
of the same log prove the log only grew between them with a consistency proof
(``verify_extension``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ballistics.ledger import checkpoints, merkle, notes
from ballistics.ledger.keys import PublicKey, iso

EXPORT_FORMAT = "ballistics.ledger.checkpoint-export/v1"


class ExportError(ValueError):
    """The export does not verify; the message says which check failed."""


@dataclass(frozen=True)
class ExportReport:
    checkpoint: checkpoints.Checkpoint
    log_key: str
    cosignatures: tuple[tuple[str, int], ...]  # (witness name, POSIX time)


def export_checkpoint(signed_note: bytes | str, log_keys: Sequence[PublicKey],
                      witnesses: Sequence[str], exported_at: int) -> dict:
    """Build the export document; refuses a checkpoint that does not verify as given."""
    note = notes.parse_note(signed_note)
    doc = {"format": EXPORT_FORMAT, "checkpoint": note.encode().decode(),
           "log_keys": [k.to_dict() for k in log_keys], "witnesses": list(witnesses),
           "exported_at": iso(exported_at)}
    cp = checkpoints.Checkpoint.parse(note.text)
    doc.update(origin=cp.origin, size=cp.size, root_hash=base64.b64encode(cp.root_hash).decode())
    verify_export(doc, min_cosignatures=0)
    return doc


def verify_export(doc: Mapping, log_keys: Sequence[PublicKey] | None = None,
                  witnesses: Sequence[str] | None = None,
                  min_cosignatures: int = 1) -> ExportReport:
    """Check an export with pinned keys (default: the keys inside it, which only shows the file
    is self-consistent). Requires a good lab signature, at least ``min_cosignatures`` good
    witness cosignatures, summary fields equal to the signed text, and -- when the lab key has
    a validity period -- a cosignature dated inside it (a key retired before any witness saw
    the checkpoint does not vouch for it)."""
    if doc.get("format") != EXPORT_FORMAT:
        raise ExportError(f"not a checkpoint export (format {doc.get('format')!r})")
    try:
        log_keys = list(log_keys) if log_keys is not None else [
            PublicKey.from_dict(k) for k in doc["log_keys"]]
        cosigners = [notes.parse_verifier_key(v) for v in
                     (witnesses if witnesses is not None else doc["witnesses"])]
        signed = checkpoints.open_checkpoint(doc["checkpoint"], [k.verifier for k in log_keys],
                                             cosigners)
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"the checkpoint does not verify: {exc}") from exc
    cp = signed.checkpoint
    summary = (doc.get("origin"), doc.get("size"), doc.get("root_hash"))
    if summary != (cp.origin, cp.size, base64.b64encode(cp.root_hash).decode()):
        raise ExportError("origin, size or root_hash differ from the signed checkpoint")
    cosigs = tuple(signed.cosignatures())
    if len({name for name, _ in cosigs}) < min_cosignatures:
        raise ExportError(f"{len(cosigs)} witness cosignature(s) verify, "
                          f"{min_cosignatures} required")
    by_id = {(k.verifier.name, k.verifier.key_id): k for k in log_keys}
    lab_sigs = [by_id[s.name, s.key_id] for s, v in signed.opened.verified
                if (s.name, s.key_id) in by_id and type(v) is notes.Ed25519Verifier]
    if cosigs and not any(k.valid_at(t) for k in lab_sigs for _, t in cosigs):
        raise ExportError("no witness saw this checkpoint while the lab key that signed it "
                          "was in force")
    return ExportReport(cp, lab_sigs[0].verifier.vkey(), cosigs)


def verify_extension(older: ExportReport, newer: ExportReport, proof: Sequence[bytes]) -> None:
    """Check that ``newer`` extends ``older`` (same log, RFC 9162 consistency proof)."""
    a, b = older.checkpoint, newer.checkpoint
    if a.origin != b.origin:
        raise ExportError(f"different logs: {a.origin!r} and {b.origin!r}")
    if a.size == 0 and b.size >= 0 and a.root_hash == merkle.EMPTY_ROOT:
        return  # the empty tree is a prefix of every tree
    try:
        merkle.verify_consistency(a.size, b.size, proof, a.root_hash, b.root_hash)
    except merkle.ProofError as exc:
        raise ExportError(f"checkpoint {b.size} does not extend checkpoint {a.size}: "
                          f"{exc}") from exc
