"""Evidence test helpers."""

from __future__ import annotations


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
