"""Canonical hashing for the append-only chains (custody events, audit log)."""

from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64


def chain_hash(prev_hash: str, payload: dict) -> str:
    """SHA-256 over the previous hash and a canonical JSON of the payload.

    Keys are sorted and separators fixed so the same facts always give the same digest.
    """
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()
