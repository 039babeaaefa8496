"""The witnesses a lab's checkpoints go to: a small interface, so the shipped tlog-witness
process (over HTTP today), the regional hub (the same HTTP protocol, or mounted in process) or
any standard C2SP witness plug in the same way.

Witnesses come from configuration (``LEDGER_WITNESSES``: "URL VKEY" pairs separated by commas),
never from the database, so whoever can rewrite the database cannot swap the key that checks a
cosignature. Another domain may add witnesses at start-up with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from flask import Flask, current_app

from ballistics.ledger import notes, witness_client
from ballistics.ledger.witness_client import ProofFor


class CosigningWitness(Protocol):
    """What the ledger needs from a witness."""

    #: the cosignature verifier (type 0x04): its name and key identify the witness
    verifier: notes.CosignatureVerifier

    def submit(self, signed_checkpoint: bytes, proof_for: ProofFor, old_size: int
               ) -> list[notes.Signature]:
        """Get the checkpoint cosigned (C2SP tlog-witness add-checkpoint semantics): raise
        ``witness_client.WitnessConflict`` / ``WitnessRefused`` when refused."""
        ...

    def latest(self, origin: str) -> bytes | None:
        """The latest checkpoint this witness cosigned for ``origin`` (monitoring), or None if
        the witness does not say."""
        ...


class HttpWitness:
    """A C2SP tlog-witness reached over HTTP (the shipped ``ballistics.witness`` process, the
    hub, or any standard witness)."""

    def __init__(self, url: str, vkey: str, timeout: float = 5.0) -> None:
        self.endpoint = witness_client.Witness.from_vkey(url, vkey)
        self.verifier = self.endpoint.verifier
        self.timeout = timeout

    @property
    def url(self) -> str:
        return self.endpoint.url

    def __repr__(self) -> str:
        return f"HttpWitness({self.url!r}, {self.verifier.name!r})"

    def submit(self, signed_checkpoint: bytes, proof_for: ProofFor, old_size: int
               ) -> list[notes.Signature]:
        return witness_client.submit(self.endpoint, signed_checkpoint, proof_for,
                                     old_size=old_size, timeout=self.timeout)

    def latest(self, origin: str) -> bytes | None:
        return witness_client.latest_checkpoint(self.endpoint, origin, timeout=self.timeout)


class LocalWitness:
    """A ``ballistics.witness.service.Witness`` in this process (the hub's own witness, tests):
    the same rules as over HTTP, without the network."""

    def __init__(self, witness) -> None:
        from ballistics.witness.service import Witness

        self.witness: Witness = witness
        self.verifier = witness.signer.verifier()

    def submit(self, signed_checkpoint: bytes, proof_for: ProofFor, old_size: int
               ) -> list[notes.Signature]:
        from ballistics.ledger.tlog_witness import AddCheckpointRequest
        from ballistics.witness.service import WitnessError

        size = witness_client.checkpoint_size(signed_checkpoint)
        for _attempt in range(3):
            proof = tuple(proof_for(old_size)) if old_size else ()
            body = AddCheckpointRequest(old_size, proof, signed_checkpoint).encode()
            try:
                return self.witness.add_checkpoint(body)
            except WitnessError as exc:
                if exc.status == 409 and exc.known_size is not None:
                    if exc.known_size > size:
                        raise witness_client.WitnessConflict("local", exc.known_size) from exc
                    old_size = exc.known_size
                    continue
                raise witness_client.WitnessRefused("local", exc.status, exc.message) from exc
        raise witness_client.WitnessRefused("local", 409, "the witness's size kept changing")

    def latest(self, origin: str) -> bytes | None:
        from ballistics.witness.service import origin_hash

        note = self.witness.latest_checkpoint(origin_hash(origin))
        return note.encode() if note else None


def parse_setting(value: str, timeout: float = 5.0) -> list[HttpWitness]:
    """``"URL VKEY, URL VKEY"`` -> witnesses; a malformed entry is an error naming it."""
    out = []
    for n, entry in enumerate((e.strip() for e in value.split(",")), start=1):
        if not entry:
            continue
        parts = entry.split()
        if len(parts) != 2:
            raise ValueError(f"LEDGER_WITNESSES entry {n} must be 'URL VKEY', not {entry!r}")
        try:
            out.append(HttpWitness(parts[0], parts[1], timeout))
        except ValueError as exc:
            raise ValueError(f"LEDGER_WITNESSES entry {n}: {exc}") from exc
    return out


def configure_witnesses(app: Flask) -> None:
    app.extensions["ledger_witnesses"] = parse_setting(app.config["LEDGER_WITNESSES"],
                                                       app.config["LEDGER_WITNESS_TIMEOUT"])


def register(app: Flask, witness: CosigningWitness) -> None:
    """Add a witness (the hub's, once the network exists) to the configured ones."""
    app.extensions["ledger_witnesses"].append(witness)


def configured() -> Sequence[CosigningWitness]:
    return current_app.extensions["ledger_witnesses"]


def verifiers() -> list[notes.CosignatureVerifier]:
    return [w.verifier for w in configured()]
