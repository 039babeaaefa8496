"""A small in-memory transparency log for the ledger tests: leaves, signed checkpoints, proofs."""

from __future__ import annotations

import hashlib

from ballistics.ledger import checkpoints, merkle, notes

ORIGIN = "ballistics.example/lab/TEST"


class ToyLog:
    """An append-only log signing C2SP checkpoints with its own Ed25519 key."""

    def __init__(self, origin: str = ORIGIN, seed: bytes | None = None, salt: str = "") -> None:
        self.signer = (notes.Ed25519Signer(origin, seed) if seed
                       else notes.Ed25519Signer.generate(origin))
        self.origin = origin
        self.salt = salt
        self.tree = merkle.MemoryTree()

    @property
    def vkey(self) -> str:
        return self.signer.verifier().vkey()

    def grow(self, size: int) -> None:
        while self.tree.size < size:
            data = f"{self.salt}entry {self.tree.size}".encode()
            self.tree.append(merkle.leaf_hash(hashlib.sha256(data).digest()))

    def checkpoint(self, size: int | None = None, signer: notes.Signer | None = None) -> bytes:
        size = self.tree.size if size is None else size
        cp = checkpoints.Checkpoint(self.origin, size, self.tree.root(size))
        return checkpoints.sign_checkpoint(cp, signer or self.signer).encode()

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        return self.tree.consistency_proof(old, new) if old else []
