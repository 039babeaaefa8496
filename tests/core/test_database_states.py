"""Statuses and kinds are enforced by the database itself, and constraint names follow one
convention that names every column."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import Enum, UniqueConstraint, inspect, text
from sqlalchemy.exc import IntegrityError

from ballistics.extensions import db


def _enum_columns():
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Enum):
                yield table, column


def test_every_enum_column_has_its_check_constraint(app):
    inspector = inspect(db.engine)
    checked = 0
    for table, column in _enum_columns():
        checks = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
        name = f"ck_{table.name}_{column.type.name}"
        assert name in checks, (table.name, column.name, sorted(checks))
        for value in column.type.enums:
            assert f"'{value}'" in checks[name], (name, value)
        checked += 1
    assert checked >= 25


def test_unique_constraint_names_match_the_models(app):
    inspector = inspect(db.engine)
    for table in db.metadata.sorted_tables:
        wanted = {c.name for c in table.constraints
                  if isinstance(c, UniqueConstraint) and len(c.columns) > 1}
        found = {c["name"] for c in inspector.get_unique_constraints(table.name)}
        assert wanted <= found, (table.name, wanted - found)


@pytest.mark.parametrize("statement", [
    "UPDATE items SET status = 'lost' WHERE id = :id",
    "UPDATE items SET kind = 'grenade' WHERE id = :id",
])
def test_plain_sql_with_an_unknown_status_is_refused(app, lab, statement):
    from ballistics.core.context import acting_as
    from ballistics.evidence import custody
    from ballistics.evidence.services import create_case

    tech = lab.users["tech"]
    with acting_as(tech.id, lab.lab.id, "test"):
        item = custody.receive(tech, create_case(tech, submitting_agency="Police"),
                               kind="cartridge_case", from_agency="Police")
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(text(statement), {"id": item.id})
        db.session.flush()
    db.session.rollback()
    assert db.session.get(type(item), item.id).status == "in_custody"


_OUTBOX_ROW = ("INSERT INTO outbox (topic, name, payload, created_at, available_at, "
               "attempts, last_error) VALUES (:topic, 'audit.probe', '{}', '2026-01-01', "
               "'2026-01-01', 0, '')")


def test_plain_sql_inserting_an_unknown_kind_is_refused(app):
    with pytest.raises(IntegrityError, match="ck_outbox_topic"):
        db.session.execute(text(_OUTBOX_ROW), {"topic": "carrier_pigeon"})
        db.session.flush()
    db.session.rollback()
    # The same row with a kind the enum defines goes in: only the unknown value was refused.
    db.session.execute(text(_OUTBOX_ROW), {"topic": "hub"})
    db.session.rollback()


def test_upgrade_keeps_rows_and_append_only_triggers(tmp_path):
    """0003 -> 0004 on a database with rows: SQLite rebuilds the tables; the rows stay and the
    append-only triggers are back."""
    from tests.support.services import migrated_app

    app = migrated_app(f"sqlite:///{tmp_path / 'old.sqlite'}", tmp_path)
    with app.app_context():
        downgrade(revision="0003")
        conn = db.session.connection()
        conn.execute(text("INSERT INTO labs (id, code, name, country, created_at) "
                          "VALUES (1, 'OLD', 'Old lab', '', '2026-01-01')"))
        conn.execute(text("INSERT INTO audit_entries (chain_key, seq, origin, action, "
                          "object_type, created_at, prev_hash, hash) VALUES (1, 1, 'cli', "
                          "'insert', 'labs', '2026-01-01', '0', 'h1')"))
        db.session.commit()
        upgrade()
        assert db.session.scalar(text("SELECT code FROM labs WHERE id = 1")) == "OLD"
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("UPDATE audit_entries SET origin = 'x'"))
        db.session.rollback()
        with pytest.raises(IntegrityError):
            db.session.execute(text("INSERT INTO audit_entries (chain_key, seq, origin, action, "
                                    "object_type, created_at, prev_hash, hash) VALUES (1, 2, "
                                    "'cli', 'erase', 'labs', '2026-01-01', 'h1', 'h2')"))
        db.session.rollback()
