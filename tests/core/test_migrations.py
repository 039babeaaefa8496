"""The committed migrations build an empty database to head and match the models exactly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from ballistics.extensions import db
from tests.support.services import create_pg_database, drop_pg_database, migrated_app


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_app(request, tmp_path):
    if request.param == "sqlite":
        yield migrated_app(f"sqlite:///{tmp_path / 'fresh.sqlite'}", tmp_path)
        return
    url = create_pg_database("ballistics_migr")
    try:
        app = migrated_app(url, tmp_path)
        yield app
        with app.app_context():
            db.engine.dispose()
    finally:
        drop_pg_database(url)


def _diff(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_to_head_matches_models(fresh_app):
    with fresh_app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"labs", "users", "cases", "items", "custody_events", "audit_entries"} <= tables
    assert _diff(fresh_app) == []


def test_downgrade_to_base_and_back(fresh_app):
    with fresh_app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
    assert _diff(fresh_app) == []
