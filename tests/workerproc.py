"""Real Celery worker processes for integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from flask import Flask

from tests.support.services import REPO


def worker_env(app: Flask) -> dict[str, str]:
    """Environment that points a worker process at the same database, broker and queue."""
    cfg = app.config
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": cfg["SQLALCHEMY_DATABASE_URI"],
        "CELERY_BROKER_URL": cfg["CELERY_BROKER_URL"],
        "CELERY_RESULT_BACKEND": cfg["CELERY_RESULT_BACKEND"],
        "CELERY_TASK_DEFAULT_QUEUE": cfg["CELERY_TASK_DEFAULT_QUEUE"],
        "INSTANCE_PATH": cfg["INSTANCE_PATH"],
        "IMAGE_STORE": cfg["IMAGE_STORE"],
        "SECRET_KEY": cfg["SECRET_KEY"],
        "COMPARISON_AUTO_SEARCH": "1" if cfg["COMPARISON_AUTO_SEARCH"] else "0",
        "CELERY_VISIBILITY_TIMEOUT": str(cfg["CELERY_VISIBILITY_TIMEOUT"]),
        "SEARCH_SHARD_SIZE": str(cfg["SEARCH_SHARD_SIZE"]),
        "SEARCH_CHUNK_SIZE": str(cfg["SEARCH_CHUNK_SIZE"]),
        "SEARCH_FROM_INDEX": "1" if cfg["SEARCH_FROM_INDEX"] else "0",
        "SIGNATURE_INDEX": cfg["SIGNATURE_INDEX"],
        **{name: str(cfg[name]) for name in (
            "TASK_MAX_RETRIES", "TASK_RETRY_DELAY", "WORK_STUCK_AFTER", "OUTBOX_RELAY_SECONDS",
            "APP_ROLE", "NETWORK_HUB_URL", "NETWORK_LAB", "NETWORK_LEAD_HOURS",
            "LEDGER_HOST", "LEDGER_KEY_DIR", "LEDGER_WITNESSES", "LEDGER_SEAL_SECONDS",
            "LEDGER_CHECKPOINT_SECONDS", "LEDGER_HOLE_SECONDS", "LEDGER_SWEEP_SECONDS")},
        "PYTHONPATH": str(REPO),
    })
    return env


@contextlib.contextmanager
def worker_process(app: Flask, *, name: str = "w1", concurrency: int = 1,
                   log: Path | None = None, module: str = "workers.worker"
                   ) -> Iterator[subprocess.Popen]:
    """Start ``celery worker`` as a separate process; stop it (and its children) afterwards.
    ``module`` is the Celery app module (a test may wrap the real one).

    The node is named ``<name>-<8 hex>@<host>`` (``proc.node_name``): RabbitMQ gives each node
    an exclusive remote-control queue named after it, so a second worker of the same name, from
    another test or another session on a shared broker, was refused (RESOURCE_LOCKED). The log
    keeps the readable ``worker-<name>.log``."""
    log = log or Path(app.config["INSTANCE_PATH"]) / f"worker-{name}.log"
    node = f"{name}-{uuid.uuid4().hex[:8]}"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", module, "worker",
             "-n", f"{node}@%h", "-Q", app.config["CELERY_TASK_DEFAULT_QUEUE"],
             "-c", str(concurrency), "--loglevel=INFO", "--without-gossip", "--without-mingle"],
            cwd=REPO, env=worker_env(app), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    proc.node_name = f"{node}@{socket.gethostname()}"  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _wait_for_an_answer(proc: subprocess.Popen, port: int, log: Path) -> None:
    """The master opens the port before a worker has loaded the app; on a loaded machine that
    took over a minute, and a test's first request (60 s timeout) failed. Wait for one answer
    (a worker that has loaded the app takes every request until the other has too)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 600
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json",
                                        timeout=30):
                return
        except urllib.error.HTTPError:
            return  # an answer, whatever it says: the app is loaded
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"gunicorn on {port} never answered: {log.read_text()[-2000:]}")
        time.sleep(0.5)


@contextlib.contextmanager
def web_process(app: Flask, port: int, *, log: Path | None = None
                ) -> Iterator[subprocess.Popen]:
    """Serve the app with gunicorn (2 workers) on 127.0.0.1:``port`` as its own process."""
    log = log or Path(app.config["INSTANCE_PATH"]) / f"web-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4",
             "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=REPO, env=worker_env(app), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start on {port}: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        _wait_for_an_answer(proc, port, log)
        yield proc
    finally:
        stop(proc)


def search_steps(log: Path, prefix: str) -> tuple[int, int, int, int, int]:
    """What a worker's log says of a search's tasks (``prefix``: ``comparisons.`` at a lab,
    ``network.hub_`` at the hub), once both deliveries of ``run_search`` have ended and a
    moment has passed for any late duplicate: ``(run_search received, of them skipped,
    rank_shard received, start_comparisons received, finish_search succeeded)``."""
    from tests.comparisons.helpers import wait_for

    wait_for(lambda: log.read_text(errors="replace").count(f"{prefix}run_search[") >= 4, bool,
             timeout=120, interval=0.2)
    time.sleep(2)
    lines = log.read_text(errors="replace").splitlines()

    def count(task: str, word: str) -> int:
        return sum(1 for line in lines if f"{prefix}{task}[" in line and word in line)

    return (count("run_search", "received"), count("run_search", "'skipped'"),
            count("rank_shard", "received"), count("start_comparisons", "received"),
            count("finish_search", "succeeded"))
