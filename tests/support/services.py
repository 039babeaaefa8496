"""Real services for tests: PostgreSQL databases per session, migrated apps, a local server.

PostgreSQL is required in CI (CI=true): a missing server fails the run loudly. Locally a test
that needs it is skipped with a message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from ballistics.app import create_app
from tests.support.client import RequestClient

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def need_service(what: str, exc: Exception | None = None) -> None:
    """Fail loudly in CI, skip with a message locally."""
    message = f"{what} is not reachable: {exc}" if exc else f"{what} is not reachable"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message + " (skipped locally; CI requires it)")


def migrated_app(database_url: str, instance: Path, **overrides) -> Flask:
    """A Flask app on the given database, upgraded to head by the real migrations; its test
    client runs every request in a fresh app context (see :class:`RequestClient`)."""
    from flask_migrate import upgrade

    os.environ["DATABASE_URL"] = database_url
    try:
        app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True,
                          "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False, **overrides})
    finally:
        del os.environ["DATABASE_URL"]
    app.test_client_class = RequestClient
    with app.app_context():
        upgrade()
    return app


@contextlib.contextmanager
def legacy_sqlite(instance: Path, revision: str) -> Iterator[Flask]:
    """A fresh SQLite database migrated only up to ``revision``, its app's context entered: a
    migration's data test writes the rows of before, upgrades, reads what became of them. The
    engine is disposed on the way out (the file stays in ``instance``)."""
    from flask_migrate import upgrade

    from ballistics.extensions import db

    os.environ["DATABASE_URL"] = f"sqlite:///{instance / 'legacy.sqlite'}"
    try:
        app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True})
    finally:
        del os.environ["DATABASE_URL"]
    with app.app_context():
        upgrade(revision=revision)
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def broker_app(pg_url: str, instance: Path, broker: str, **extra) -> Flask:
    """An app whose tasks go through a real broker, on a queue of its own (workers of other
    tests never take its tasks); comparisons start no automatic search."""
    return migrated_app(pg_url, instance, CELERY_BROKER_URL=broker,
                        CELERY_RESULT_BACKEND="redis://127.0.0.1:6379/1",
                        CELERY_TASK_DEFAULT_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
                        COMPARISON_AUTO_SEARCH=False, OUTBOX_RELAY_SECONDS=0.5, **extra)


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen]:
    """A private Redis server on ``port`` that a test may stop and start again (a broker
    outage), without touching the shared one on 6379."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        need_service("redis-server binary")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start on {port}")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
