"""The log's side of C2SP tlog-witness: send a signed checkpoint with a consistency proof,
get back cosignatures verified against the witness's key.

Standard library HTTP (urllib) only, so the sealer, a Celery task or a command can use it
without the test-only ``requests``. Any tlog-witness implementation can be on the other end.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ballistics.ledger import checkpoints, notes
from ballistics.ledger.tlog_witness import (
    PATH,
    SIZE_CONTENT_TYPE,
    AddCheckpointRequest,
    parse_size,
)

#: The proof from the witness's size to the checkpoint's size; ``proof_for(0)`` is empty.
ProofFor = Callable[[int], Sequence[bytes]]


class WitnessRefused(Exception):
    """The witness answered with an error status (or not at all); ``status`` 0 means no answer."""

    def __init__(self, url: str, status: int, message: str) -> None:
        super().__init__(f"witness {url} answered {status}: {message}" if status
                         else f"witness {url} did not answer: {message}")
        self.url, self.status, self.message = url, status, message


class WitnessConflict(WitnessRefused):
    """409: the witness's latest cosigned size is not the ``old`` size sent."""

    def __init__(self, url: str, known_size: int) -> None:
        super().__init__(url, 409, f"its latest cosigned size is {known_size}")
        self.known_size = known_size


@dataclass(frozen=True)
class Witness:
    """Where a witness listens (its submission prefix) and the key its cosignatures carry."""

    url: str
    verifier: notes.CosignatureVerifier

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"a witness URL is http:// or https://, not {self.url!r}")

    @classmethod
    def from_vkey(cls, url: str, vkey: str) -> Witness:
        verifier = notes.parse_verifier_key(vkey)
        if not isinstance(verifier, notes.CosignatureVerifier):
            raise notes.NoteError(f"{vkey!r} is not a cosignature (type 0x04) key")
        return cls(url.rstrip("/"), verifier)


def add_checkpoint(witness: Witness, signed_checkpoint: bytes, old_size: int,
                   proof: Sequence[bytes], timeout: float = 10.0) -> list[notes.Signature]:
    """One add-checkpoint round trip; returns this witness's verified cosignature(s).

    Raises ``WitnessConflict`` on 409 (with the witness's size), ``WitnessRefused`` on any
    other refusal, and ``notes.NoteError`` if the answer does not carry a good cosignature
    from the configured key (a witness with the wrong key is as good as none).
    """
    body = AddCheckpointRequest(old_size, tuple(proof), signed_checkpoint).encode()
    # The scheme is checked in Witness.__post_init__ (http or https only).
    req = urllib.request.Request(witness.url + PATH, data=body, method="POST",  # noqa: S310
                                 headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            answer = resp.read()
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        if exc.code == 409 and exc.headers.get_content_type() == SIZE_CONTENT_TYPE:
            raise WitnessConflict(witness.url, parse_size(payload)) from exc
        raise WitnessRefused(witness.url, exc.code,
                             payload.decode("utf-8", "replace").strip()[:500]) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WitnessRefused(witness.url, 0, str(exc)) from exc
    return verified_cosignatures(witness, signed_checkpoint, answer)


def verified_cosignatures(witness: Witness, signed_checkpoint: bytes,
                          answer: bytes) -> list[notes.Signature]:
    """The signature lines of a 200 answer that are good cosignatures by ``witness``."""
    text = notes.parse_note(signed_checkpoint).text
    try:
        lines = answer.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise notes.MalformedNote("the witness answer is not UTF-8") from exc
    sigs = [notes.Signature.parse_line(line) for line in lines if line]
    # Opening "checkpoint text + answer" with only the witness key, as the spec suggests.
    opened = notes.open_note(notes.Note(text, tuple(sigs)), [witness.verifier])
    return [s for s, _ in opened.verified]


def submit(witness: Witness, signed_checkpoint: bytes, proof_for: ProofFor,
           old_size: int = 0, attempts: int = 3, timeout: float = 10.0,
           ) -> list[notes.Signature]:
    """Get ``signed_checkpoint`` cosigned, starting from a guess of the witness's size.

    A 409 tells the witness's real size; the request is retried once per attempt from that size
    with ``proof_for(size)``. A witness that has cosigned a *larger* tree than this checkpoint
    is not retried: the log would be asking it to go backwards (a rollback or a split view).
    """
    size = checkpoints.Checkpoint.parse(notes.parse_note(signed_checkpoint).text).size
    for attempt in range(1, max(1, attempts) + 1):
        try:
            proof = list(proof_for(old_size)) if old_size else []
            return add_checkpoint(witness, signed_checkpoint, old_size, proof, timeout)
        except WitnessConflict as conflict:
            if conflict.known_size > size or attempt >= attempts:
                raise
            old_size = conflict.known_size
    raise AssertionError("unreachable")
