"""A UNIQUE constraint that refuses a write (two requests recorded the same thing at once and
the database kept one) answers 409 concurrent_change with nothing saved, on both databases; any
other integrity error stays a 500 (a bug, not a race)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ballistics.auth.models import Lab
from ballistics.extensions import db
from tests.support.services import create_pg_database, drop_pg_database, migrated_app


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_app(request, tmp_path):
    if request.param == "sqlite":
        yield migrated_app(f"sqlite:///{tmp_path / 'u.sqlite'}", tmp_path, WTF_CSRF_ENABLED=False)
        return
    url = create_pg_database("ballistics_unique")
    app = migrated_app(url, tmp_path, WTF_CSRF_ENABLED=False)
    yield app
    with app.app_context():
        db.engine.dispose()
    drop_pg_database(url)


def test_a_unique_violation_is_a_conflict_and_saves_nothing(fresh_app):
    @fresh_app.post("/api/v1/_test/labs/<code>/<extra>")
    def add_lab(code: str, extra: str):  # no check first: the database refuses the second
        db.session.add(Lab(code=extra, name="written first, in the same transaction"))
        db.session.flush()
        db.session.add(Lab(code=code, name=f"Lab {code}"))
        db.session.flush()
        return {"ok": True}, 201

    @fresh_app.post("/api/v1/_test/orphan")
    def orphan():
        from ballistics.auth.models import User
        db.session.add(User(lab_id=999_999, username="orphan", full_name="x",
                            password_hash="x"))
        db.session.flush()
        return {"ok": True}, 201

    client = fresh_app.test_client()
    assert client.post("/api/v1/_test/labs/DUP/A").status_code == 201
    again = client.post("/api/v1/_test/labs/DUP/B", headers={"Accept-Language": "es"})
    assert again.status_code == 409
    body = again.get_json()
    assert body["error"] == "concurrent_change" and "Otra persona registró" in body["message"]
    with fresh_app.app_context():  # the refused request's other row was not kept either
        assert db.session.scalar(select(func.count(Lab.id)).where(Lab.code == "B")) == 0
        assert db.session.scalar(select(func.count(Lab.id)).where(Lab.code == "DUP")) == 1
    # A foreign key's refusal is a bug, not a race: still a 500 (SQLite enforces foreign keys
    # here: PRAGMA foreign_keys=ON).
    assert client.post("/api/v1/_test/orphan").status_code == 500
