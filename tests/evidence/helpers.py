"""Evidence test helpers."""

from __future__ import annotations

from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.audit.services import verify_audit_chain
from ballistics.comparisons.models import Scan, Search
from ballistics.evidence.models import CustodyEvent, DisposalRequest
from ballistics.extensions import db
from sop.models import Examination


def tamper_reason(event_id: int, reason: str = "nothing to see") -> None:
    """Alter a recorded custody event behind the application's back, as someone with database
    access could (the append-only triggers are lifted for the one UPDATE), and commit."""
    from sqlalchemy import text

    from ballistics.extensions import db

    conn = db.session.connection()
    update = text("UPDATE custody_events SET reason = :reason WHERE id = :id")
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only"))
        conn.execute(update, {"reason": reason, "id": event_id})
        conn.execute(text("ALTER TABLE custody_events ENABLE TRIGGER custody_events_append_only"))
    else:
        conn.execute(text("DROP TRIGGER custody_events_no_update"))
        conn.execute(update, {"reason": reason, "id": event_id})
        conn.execute(text("CREATE TRIGGER custody_events_no_update BEFORE UPDATE ON "
                          "custody_events BEGIN SELECT RAISE(ABORT, 'append-only'); END"))
    db.session.commit()


def snapshot(lab_id: int) -> tuple:
    """Everything a refusal must leave as it was: row counts and the lab's last audit entry."""
    db.session.expire_all()
    counts = tuple(db.session.scalar(select(func.count()).select_from(model)
                                     .where(model.lab_id == lab_id))
                   for model in (CustodyEvent, DisposalRequest, Scan, Search, Examination))
    entries = db.session.scalar(select(func.count(AuditEntry.id))
                                .where(AuditEntry.chain_key == lab_id))
    last = db.session.execute(select(AuditEntry.id, AuditEntry.hash)
                              .where(AuditEntry.chain_key == lab_id)
                              .order_by(AuditEntry.id.desc()).limit(1)).one()
    assert verify_audit_chain(db.session, lab_id).ok
    return (*counts, entries, *last)


def refused(api, path: str, body: dict | None, status: int, code: str, words: str,
            lab_id: int) -> dict:
    before = snapshot(lab_id)
    answer = api.post(path, body, expect=status)
    assert answer["error"] == code, answer
    assert words in answer["message"], answer["message"]
    assert snapshot(lab_id) == before
    return answer
