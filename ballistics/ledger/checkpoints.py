"""C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint): the note text that
commits a log to its Merkle tree at one size.

    <origin>\\n<tree size>\\n<base64 root hash>\\n[<extension line>\\n ...]

Pure. Parsing is strict, so that one checkpoint has exactly one text: decimal size without
leading zeros, canonical base64 of a 32-byte SHA-256 root, non-empty extension lines.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ballistics.ledger import notes
from ballistics.ledger.merkle import HASH_SIZE

_SIZE = re.compile(r"0|[1-9][0-9]*", re.ASCII)


class CheckpointError(ValueError):
    """A checkpoint text that does not follow tlog-checkpoint; the message names the line."""


def _check_line(what: str, line: str) -> None:
    if not line:
        raise CheckpointError(f"the {what} must not be empty")
    if any(ord(c) < 0x20 for c in line):
        raise CheckpointError(f"the {what} holds a control character")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and root hash (plus optional extension lines)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin line", self.origin)
        if self.size < 0:
            raise CheckpointError("the tree size must not be negative")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"the root hash is {HASH_SIZE} bytes, not "
                                  f"{len(self.root_hash)}")
        for line in self.extensions:
            _check_line("extension line", line)

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(),
                 *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise CheckpointError("the checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("a checkpoint has an origin, a size and a root hash line")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise CheckpointError(f"the tree size line {size!r} is not a decimal number "
                                  "without leading zeros")
        try:
            root_hash = base64.b64decode(root.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise CheckpointError("the root hash line is not base64") from exc
        if base64.b64encode(root_hash).decode() != root:
            raise CheckpointError("the root hash line is not canonical base64")
        return cls(origin, int(size), root_hash, tuple(extensions))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint opened with trusted keys: which log keys and which cosigners vouched."""

    checkpoint: Checkpoint
    note: notes.Note
    opened: notes.OpenedNote

    def signatures_by(self, kind: type) -> list[tuple[notes.Signature, notes.Verifier]]:
        return [(s, v) for s, v in self.opened.verified if type(v) is kind]

    def cosignatures(self) -> list[tuple[str, int]]:
        """(cosigner name, POSIX time) of every verified cosignature."""
        return [(s.name, notes.cosignature_timestamp(s.signature))
                for s, _ in self.signatures_by(notes.CosignatureVerifier)]


def sign_checkpoint(checkpoint: Checkpoint, signer: notes.Signer) -> notes.Note:
    return notes.sign_note(checkpoint.body(), [signer])


def open_checkpoint(data: bytes | str | notes.Note, log_keys: Iterable[notes.Verifier],
                    cosigners: Iterable[notes.Verifier] = ()) -> SignedCheckpoint:
    """Verify a signed checkpoint: at least one good signature by a log key is required
    (cosignatures alone do not make a checkpoint the log's); every known signature must verify.
    """
    note = data if isinstance(data, notes.Note) else notes.parse_note(data)
    log_keys = list(log_keys)
    opened = notes.open_note(note, [*log_keys, *cosigners])
    log_ids = {(k.name, k.key_id) for k in log_keys}
    if not any((s.name, s.key_id) in log_ids for s, _ in opened.verified):
        raise notes.UnverifiedNote(note)
    return SignedCheckpoint(Checkpoint.parse(opened.text), note, opened)
