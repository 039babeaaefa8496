"""Liveness and readiness for whoever runs the lab's machines (a load balancer, systemd, a
monitoring check): ``/healthz`` answers while the process serves; ``/readyz`` while it can do
its work: the database answers and its schema is the one this code expects (after an upgrade
of the code, before ``flask db upgrade``, every write could fail: not ready).

No sign-in (a monitor has none) and nothing of the lab's records in the answer."""

from __future__ import annotations

from functools import cache

from alembic.script import ScriptDirectory
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ballistics.extensions import db
from config import REPO_ROOT


@cache
def migrations() -> ScriptDirectory:
    return ScriptDirectory(str(REPO_ROOT / "migrations"))


def schema_head() -> str:
    return migrations().get_current_head()


def known_revision(revision: str | None) -> bool:
    """Whether this code's migrations know ``revision`` (an older schema can be upgraded)."""
    if not revision:
        return False
    try:
        return migrations().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown or malformed id
        return False


def readiness() -> tuple[dict, bool]:
    try:
        revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:
        return {"status": "not ready", "database": "unreachable"}, False
    finally:
        db.session.rollback()  # nothing held open by a monitor's request, nor a failed one
    head = schema_head()
    if revision != head:
        return {"status": "not ready", "database": "ok", "schema": revision,
                "expected_schema": head}, False
    return {"status": "ready", "database": "ok", "schema": revision}, True


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        body, ready = readiness()
        return jsonify(body), 200 if ready else 503
