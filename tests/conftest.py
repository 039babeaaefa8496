"""Shared fixtures: real databases built by the migrations, one lab per test for isolation.

PostgreSQL is required in CI (CI=true): a missing server fails the run loudly. Locally a test
that needs it is skipped with a message.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Cheaper argon2id for the many test accounts (same algorithm, lower cost); set before import.
os.environ.setdefault("ARGON2_TIME_COST", "1")
os.environ.setdefault("ARGON2_MEMORY_KIB", "8192")

import psycopg
import pytest
from flask import Flask

from ballistics.app import create_app
from ballistics.auth import services as accounts
from ballistics.auth.models import Lab, User
from ballistics.auth.roles import Role
from ballistics.core.context import acting_as
from ballistics.extensions import db

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery staple"
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def need_service(what: str, exc: Exception | None = None) -> None:
    """Fail loudly in CI, skip with a message locally."""
    message = f"{what} is not reachable: {exc}" if exc else f"{what} is not reachable"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message + " (skipped locally; CI requires it)")


def migrated_app(database_url: str, instance: Path, **overrides) -> Flask:
    """A Flask app on the given database, upgraded to head by the real migrations."""
    from flask_migrate import upgrade

    os.environ["DATABASE_URL"] = database_url
    try:
        app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True,
                          "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False, **overrides})
    finally:
        del os.environ["DATABASE_URL"]
    with app.app_context():
        upgrade()
    return app


def create_pg_database(prefix: str = "ballistics_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        need_service("PostgreSQL at 127.0.0.1:5432", exc)
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory) -> Flask:
    instance = tmp_path_factory.mktemp("sqlite-instance")
    return migrated_app(f"sqlite:///{instance / 'test.sqlite'}", instance)


@pytest.fixture(scope="session")
def pg_app(pg_url, tmp_path_factory) -> Flask:
    return migrated_app(pg_url, tmp_path_factory.mktemp("pg-instance"))


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request) -> Iterator[Flask]:
    """Runs the test once per backend: the embedded default and production's PostgreSQL."""
    flask_app = request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}"
                                        "_app")
    with flask_app.app_context():
        yield flask_app
        db.session.remove()


@dataclass
class LabKit:
    """A fresh lab with one user per role and bearer tokens for each."""

    lab: Lab
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)
    location_id: int | None = None

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def id(self, who: str) -> int:
        return self.users[who].id


ROLES = {
    "tech": [Role.EVIDENCE_TECHNICIAN],
    "examiner": [Role.EXAMINER],
    "examiner2": [Role.EXAMINER],
    "reviewer": [Role.EXAMINER, Role.TECHNICAL_REVIEWER],
    "manager": [Role.LAB_MANAGER],
    "admin": [Role.ADMIN],
}


def make_lab(extra_users: int = 0) -> LabKit:
    """Create a lab, its users (``extra_users`` more examiners), tokens and a storage location."""
    from ballistics.evidence.services import create_location

    code = "L" + uuid.uuid4().hex[:8].upper()
    roles = dict(ROLES)
    roles.update({f"extra{i}": [Role.EXAMINER] for i in range(extra_users)})
    with acting_as(None, None, "test"):
        lab = accounts.create_lab(code, f"Lab {code}")
        users = {}
        for who, user_roles in roles.items():
            users[who] = accounts.create_user(lab, f"{who}-{code.lower()}", who.title(),
                                              PASSWORD, user_roles)
        kit = LabKit(lab, users)
        kit.tokens = {who: accounts.issue_token(u, "test") for who, u in users.items()}
    with acting_as(users["manager"].id, lab.id, "test"):
        kit.location_id = create_location(users["manager"], code="SHELF-1", name="Shelf 1").id
    db.session.commit()
    return kit


@pytest.fixture
def lab(app) -> LabKit:
    return make_lab()


@pytest.fixture
def other_lab(app) -> LabKit:
    return make_lab()


@pytest.fixture
def client(app):
    return app.test_client()


@contextlib.contextmanager
def serve(flask_app: Flask) -> Iterator[str]:
    """Serve the app over real HTTP on 127.0.0.1 from a thread; yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
