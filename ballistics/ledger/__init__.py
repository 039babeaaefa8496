"""The custody ledger: RFC 9162 Merkle trees, C2SP signed notes, checkpoints and cosignatures.

Phase 1 holds the pure parts (no Flask, no database): ``merkle``, ``notes``, ``keys``,
``tlog_witness`` (the add-checkpoint wire format), ``witness_client`` and ``export``.
See docs/ledger.md.
"""
