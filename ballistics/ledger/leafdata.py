"""The leaf data of a lab's log, shared by the sealer and the offline verifier. Pure.

    ballistics-ledger/v1\\n<kind>\\n<lab id>\\n<source id>\\n<record hash>\\n

hashed as an RFC 9162 leaf, ``SHA-256(0x00 || data)``. ``<lab id>`` is the row's own lab: the
log's, or 0 for a network record sealed in the hub's log (``ballistics.ledger.hublog``).
"""

from __future__ import annotations

from ballistics.ledger import merkle

LEAF_FORMAT = "ballistics-ledger/v1"


def leaf_data(kind: str, lab_id: int, source_id: int, record_hash: str) -> bytes:
    return f"{LEAF_FORMAT}\n{kind}\n{lab_id}\n{source_id}\n{record_hash}\n".encode()


def leaf_hash(kind: str, lab_id: int, source_id: int, record_hash: str) -> bytes:
    return merkle.leaf_hash(leaf_data(kind, lab_id, source_id, record_hash))
