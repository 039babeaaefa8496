"""Migration 0008: case links recorded before confirmations were examinations (never reviewed by
anyone who logged in) are withdrawn, their free-text reference kept in the note."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from ballistics.extensions import db
from tests.support.services import legacy_sqlite


def test_links_recorded_before_0008_are_withdrawn_keeping_their_reference(tmp_path):
    with legacy_sqlite(tmp_path, "0004"):
        with db.engine.connect() as conn:
            # Only the link row matters here; its foreign keys are not checked for the insert.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql(
                "INSERT INTO case_links (id, lab_id, case_a_id, case_b_id, candidate_id, "
                "examination_ref, conclusion, confirmed_by_id, reviewed_by_id, created_at) "
                "VALUES (1, 1, 1, 2, 1, 'EX-2026-3', 'identification', 1, 2, "
                "'2026-01-05 10:00:00')")
            conn.commit()
        upgrade(revision="0008")
        row = db.session.execute(text("SELECT examination_id, withdrawn_at, withdrawal_note "
                                      "FROM case_links WHERE id = 1")).one()
    assert row.examination_id is None and row.withdrawn_at is not None
    assert "examination reference: EX-2026-3" in row.withdrawal_note
