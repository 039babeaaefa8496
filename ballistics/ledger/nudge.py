"""Optional: ask for a seal through the outbox in every transaction that records a custody event
(``LEDGER_OUTBOX_NUDGE=1``). Off by default: the worker's sealing thread already seals within
about half a second and costs the write path nothing, while this adds an outbox row and a broker
send to every such request (measured in benchmarks/custody_throughput.py, docs/ledger.md).
Useful only where no worker runs the sealing thread but a worker runs tasks.
"""

from __future__ import annotations

from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event

from ballistics.evidence.models import CustodyEvent


@event.listens_for(Session, "after_flush")
def _nudge(session: Session, _flush_context) -> None:
    labs = {o.lab_id for o in session.new if isinstance(o, CustodyEvent)}
    if labs:
        nudge(session, labs)


def nudge(session: Session, labs: set[int]) -> None:
    """Ask for a seal of these labs' logs once per transaction (if ``LEDGER_OUTBOX_NUDGE``);
    called by the flush and by services that insert custody events with Core statements."""
    if not has_app_context() or not current_app.config.get("LEDGER_OUTBOX_NUDGE"):
        return
    from ballistics.outbox.services import enqueue

    done = session.info.setdefault("ledger_nudged", set())
    for lab_id in labs - done:
        enqueue("ledger.seal", lab_id)
        done.add(lab_id)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("ledger_nudged", None)
