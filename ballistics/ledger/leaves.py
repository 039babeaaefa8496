"""What a leaf of a lab's log stands for: one custody event or one audit entry, named by kind,
lab and id and committed to by the row's own hash (the leaf data: ``leafdata``).

The record hash is the row's ``hash`` column, which covers every fact of the row (a custody
event also covers the previous event of its item). A sealer or verifier re-derives it from the
row's fields first, so a row altered before it was sealed is refused, not sealed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Table

from ballistics.audit.models import AuditEntry
from ballistics.audit.services import hashed_payload
from ballistics.core.hashing import chain_hash
from ballistics.evidence.chain import event_payload
from ballistics.evidence.models import CustodyEvent
from ballistics.ledger.leafdata import LEAF_FORMAT, leaf_data, leaf_hash
from ballistics.ledger.models import LeafKind

__all__ = ["KIND_ORDER", "LEAF_FORMAT", "SOURCES", "Source", "leaf_data", "leaf_hash"]


@dataclass(frozen=True)
class Source:
    """A table whose rows become leaves: which column names the lab, which the row's time,
    and how the row's hash is re-derived from its fields."""

    kind: LeafKind
    table: Table
    lab_column: str
    time_column: str
    label: str

    @property
    def id(self) -> Column:
        return self.table.c.id

    @property
    def lab(self) -> Column:
        return self.table.c[self.lab_column]

    def recomputed_hash(self, row: Mapping) -> str:
        """The hash the row's fields give (compare with ``row["hash"]``)."""
        if self.kind == LeafKind.CUSTODY_EVENT:
            return chain_hash(row["prev_hash"], event_payload(_Attrs(row)))
        return chain_hash(row["prev_hash"], hashed_payload(row))

    def time(self, row: Mapping) -> datetime:
        return row[self.time_column]


class _Attrs:
    """Attribute access over a row mapping (``event_payload`` reads attributes)."""

    def __init__(self, row: Mapping) -> None:
        self._row = row

    def __getattr__(self, name: str):
        return self._row[name]


SOURCES: dict[LeafKind, Source] = {
    LeafKind.CUSTODY_EVENT: Source(LeafKind.CUSTODY_EVENT, CustodyEvent.__table__, "lab_id",
                                   "occurred_at", "custody event"),
    LeafKind.AUDIT_ENTRY: Source(LeafKind.AUDIT_ENTRY, AuditEntry.__table__, "chain_key",
                                 "created_at", "audit entry"),
}
#: sealing order within one round for rows of the same instant
KIND_ORDER = {kind: n for n, kind in enumerate(SOURCES)}
