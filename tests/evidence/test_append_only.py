"""Custody and audit rows cannot be changed or deleted: not through the ORM, not by plain SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from ballistics.audit.models import AuditEntry
from ballistics.audit.services import verify_audit_chain
from ballistics.core.errors import AppendOnlyViolation
from ballistics.evidence.models import CustodyEvent
from ballistics.extensions import db
from tests.support.labs import make_lab
from tests.support.web import Api


@pytest.fixture
def recorded(app, client, lab) -> tuple[CustodyEvent, AuditEntry]:
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"])
    event = db.session.scalar(select(CustodyEvent).where(CustodyEvent.item_id == item["id"]))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.chain_key == lab.lab.id)
                              .order_by(AuditEntry.id.desc()))
    return event, entry


@pytest.mark.parametrize("model", [CustodyEvent, AuditEntry])
def test_orm_refuses_update_and_delete(recorded, model):
    row = recorded[0] if model is CustodyEvent else recorded[1]
    row.reason = "changed" if model is CustodyEvent else None
    if model is AuditEntry:
        row.origin = "forged"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(model, row.id))
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    for stmt in (update(model).where(model.id == row.id).values(prev_hash="0"),
                 delete(model).where(model.id == row.id)):
        with pytest.raises(AppendOnlyViolation):
            db.session.execute(stmt)
        db.session.rollback()


@pytest.mark.parametrize("table", ["custody_events", "audit_entries"])
def test_plain_sql_as_the_application_is_refused(recorded, table):
    row_id = recorded[0].id if table == "custody_events" else recorded[1].id
    for sql in (f"UPDATE {table} SET prev_hash = 'x' WHERE id = :id",
                f"DELETE FROM {table} WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql), {"id": row_id})
        db.session.rollback()
    assert db.session.get(type(recorded[0]) if table == "custody_events" else AuditEntry,
                          row_id) is not None


def test_truncate_is_refused_on_postgresql(pg_app):
    with pg_app.app_context():
        kit = make_lab()
        Api(pg_app.test_client(), kit, "tech").receive(
            Api(pg_app.test_client(), kit, "tech").new_case()["id"])
        for table in ("custody_events", "audit_entries"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(f"TRUNCATE {table} CASCADE"))
            db.session.rollback()
        db.session.remove()


def test_every_write_is_audited_with_before_and_after(app, client, lab):
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"])
    tech.post(f"/items/{item['id']}/transfer", {"to_user_id": lab.id("examiner")})
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.chain_key == lab.lab.id, AuditEntry.object_type == "items",
        AuditEntry.object_id == str(item["id"]), AuditEntry.action == "update")).all()
    moved = [e for e in entries if (e.after or {}).get("holder_user_id") == lab.id("examiner")]
    assert len(moved) == 1
    assert moved[0].before["holder_user_id"] == lab.id("tech")
    assert moved[0].actor_id == lab.id("tech") and moved[0].origin == "api"
    report = verify_audit_chain(db.session, lab.lab.id)
    assert report.ok and report.entries >= 10


def test_audit_chain_names_an_altered_entry(app, client, lab):
    tech = Api(client, lab, "tech")
    tech.receive(tech.new_case()["id"])
    victim = db.session.scalar(select(AuditEntry).where(AuditEntry.chain_key == lab.lab.id)
                               .order_by(AuditEntry.id).offset(3))
    assert victim.seq is None and victim.prev_hash.startswith("salt:")  # hashed on its own
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
        conn.execute(text("UPDATE audit_entries SET origin = 'forged' WHERE id = :id"),
                     {"id": victim.id})
        conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_entries_no_update"))
        conn.execute(text("UPDATE audit_entries SET origin = 'forged' WHERE id = :id"),
                     {"id": victim.id})
        conn.execute(text("CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON "
                          "audit_entries BEGIN SELECT RAISE(ABORT, 'append-only'); END"))
    db.session.commit()
    report = verify_audit_chain(db.session, lab.lab.id)
    assert not report.ok and report.first_bad_id == victim.id
    assert f"audit entry {victim.id} does not match its hash" in report.reason


def test_changes_flushed_only_by_commit_are_audited_in_their_own_transaction(app, lab):
    from ballistics.auth.models import Lab

    row = db.session.get(Lab, lab.lab.id)
    row.name = "Renamed without an explicit flush"
    db.session.commit()
    assert not db.session.info.get("audit_pending")
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.chain_key == lab.lab.id, AuditEntry.object_type == "labs",
        AuditEntry.action == "update").order_by(AuditEntry.id.desc()))
    assert entry is not None and entry.after == {"name": "Renamed without an explicit flush"}
    assert verify_audit_chain(db.session, lab.lab.id).ok
