"""The C2SP tlog-witness wire format (https://c2sp.org/tlog-witness), shared by the witness
(which parses requests) and the log's client (which builds them). Pure.

``POST <prefix>/add-checkpoint`` body::

    old <size>\\n
    <base64 consistency-proof hash>\\n   (0 to 63 lines)
    \\n
    <signed checkpoint note>

Answers: 200 with cosignature lines; 409 with ``<size>\\n`` as ``text/x.tlog.size`` when ``old``
is not the witness's latest size; 400 malformed; 403 no trusted or a bad log signature; 404
unknown origin; 422 a failed consistency proof (or a size-0 checkpoint without the empty root).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ballistics.ledger.merkle import HASH_SIZE

PATH = "/add-checkpoint"
SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
_DECIMAL = re.compile(rb"0|[1-9][0-9]*")


class MalformedRequest(ValueError):
    """An add-checkpoint body that does not follow the format (HTTP 400)."""


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes  # the signed note, exactly as sent

    def encode(self) -> bytes:
        if len(self.proof) > MAX_PROOF_LINES:
            raise ValueError(f"at most {MAX_PROOF_LINES} consistency proof lines")
        lines = [f"old {self.old_size}\n".encode()]
        lines += [base64.b64encode(h) + b"\n" for h in self.proof]
        return b"".join(lines) + b"\n" + self.checkpoint

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpointRequest:
        head, sep, checkpoint = body.partition(b"\n\n")
        if not sep:
            raise MalformedRequest("no empty line before the checkpoint")
        lines = head.split(b"\n")
        first = lines[0]
        if not first.startswith(b"old ") or not _DECIMAL.fullmatch(first[4:]):
            raise MalformedRequest("the first line must be 'old <size>' (decimal, no leading "
                                   "zeros)")
        proof_lines = lines[1:]
        if len(proof_lines) > MAX_PROOF_LINES:
            raise MalformedRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
        proof = []
        for n, line in enumerate(proof_lines, start=1):
            try:
                h = base64.b64decode(line, validate=True)
            except binascii.Error as exc:
                raise MalformedRequest(f"consistency proof line {n} is not base64") from exc
            if len(h) != HASH_SIZE or base64.b64encode(h) != line:
                raise MalformedRequest(f"consistency proof line {n} is not a canonical "
                                       f"{HASH_SIZE}-byte hash")
            proof.append(h)
        if not checkpoint:
            raise MalformedRequest("the checkpoint is missing")
        return cls(int(first[4:]), tuple(proof), checkpoint)


def format_size(size: int) -> bytes:
    return f"{size}\n".encode()


def parse_size(body: bytes) -> int:
    """The body of a 409 answer: the witness's latest cosigned size."""
    if not body.endswith(b"\n") or not _DECIMAL.fullmatch(body[:-1]):
        raise ValueError(f"not a tree size: {body[:40]!r}")
    return int(body[:-1])
