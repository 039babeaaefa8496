"""/healthz and /readyz: a monitor learns whether the process serves and whether it can work
(database reachable, schema as the code expects), without signing in and without any record."""

from __future__ import annotations

import os

from ballistics.app import create_app
from ballistics.core.health import schema_head
from tests.support.services import legacy_sqlite


def test_a_serving_ready_app_says_so_without_a_login(app):
    client = app.test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "database": "ok", "schema": schema_head()}
    assert "Set-Cookie" not in ready.headers


def test_a_schema_behind_the_code_is_not_ready(tmp_path):
    with legacy_sqlite(tmp_path, "0024") as old:
        answer = old.test_client().get("/readyz")
        assert answer.status_code == 503
        assert answer.get_json() == {"status": "not ready", "database": "ok", "schema": "0024",
                                     "expected_schema": schema_head()}
        assert old.test_client().get("/healthz").status_code == 200  # alive all the same


def test_an_unreachable_database_is_not_ready(tmp_path):
    os.environ["DATABASE_URL"] = "postgresql+psycopg://root@127.0.0.1:1/nothing?connect_timeout=2"
    try:
        app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})
    finally:
        del os.environ["DATABASE_URL"]
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "not ready", "database": "unreachable"}
