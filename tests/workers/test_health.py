"""A real worker process on a real broker answers the health task from the database."""

from __future__ import annotations

import uuid

import pytest
import redis

from tests.support.services import migrated_app, need_service
from tests.workerproc import worker_process

BROKERS = {
    "redis": ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", "redis://127.0.0.1:6379/1"),
}


def _check(kind: str) -> None:
    import socket

    host, port = ("127.0.0.1", 6379) if kind == "redis" else ("127.0.0.1", 5672)
    try:
        socket.create_connection((host, port), timeout=3).close()
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=3).ping()
    except OSError as exc:
        need_service(f"{kind} broker", exc)


@pytest.mark.broker
@pytest.mark.parametrize("kind", sorted(BROKERS))
def test_worker_answers_health_over_real_broker(kind, pg_url, tmp_path):
    _check(kind)
    broker, backend = BROKERS[kind]
    app = migrated_app(pg_url, tmp_path, CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=backend,
                       CELERY_TASK_DEFAULT_QUEUE=f"test-{uuid.uuid4().hex[:8]}")
    celery = app.extensions["celery"]
    with worker_process(app):
        result = celery.send_task("workers.health")
        answer = result.get(timeout=60)
    assert answer["ok"] is True and answer["database"] == "postgresql"
    assert answer["labs"] >= 0 and answer["pid"] > 0
