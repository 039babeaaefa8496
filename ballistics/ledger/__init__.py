"""The custody ledger: each lab's custody events and audit entries are sealed, in order, as the
leaves of an RFC 9162 Merkle tree; C2SP checkpoints of the tree are signed with the lab's key
(kept outside the database) and cosigned by witnesses, so a lab that rewrote its own history,
even as the database owner recomputing every hash, would contradict a checkpoint someone else
holds. See docs/ledger.md.

Pure parts (no Flask, no database): ``merkle``, ``notes``, ``checkpoints``, ``keys``,
``tlog_witness``, ``witness_client``, ``export`` and ``court`` (the offline report verifier).
The domain: ``models``, ``sealer`` (positions and the tree), ``store`` (proofs from the stored
tree), ``checkpointing`` (sign, witness), ``verify``, ``proofs`` (the court proof file),
``worker`` (the sealing thread in every worker process), ``tasks`` and ``cli``.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from ballistics.core.domains import install
    from ballistics.ledger.witnesses import configure_witnesses
    from ballistics.ledger.worker import add_worker_sealer

    install(app, __name__)
    import ballistics.ledger.nudge  # noqa: F401 - its session listener (off unless configured)

    configure_witnesses(app)
    add_worker_sealer(app.extensions["celery"])
