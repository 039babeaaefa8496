"""Smoke: the README's run command comes up on the embedded default and its worker answers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from ballistics.app import create_app
from tests.support.services import REPO


def _free_ports(n: int) -> list[int]:
    """``n`` distinct ports the kernel had free (all held at once, so no two are the same)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


@pytest.mark.slow
def test_run_command_serves_login_and_worker_answers_health(tmp_path):
    # Both ports asked of the kernel: the script's default witness port (PORT + 1) may be
    # another process's when tests run in parallel.
    port, witness_port = _free_ports(2)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "CELERY_", "INSTANCE_PATH"))}
    env.update(INSTANCE_PATH=str(tmp_path), PORT=str(port), WITNESS_PORT=str(witness_port))
    proc = subprocess.Popen(["bash", "scripts/run"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output.append(line)
            if line.startswith("Ready."):
                break
        text = "".join(output)
        assert "Ready." in text, text
        assert f"http://127.0.0.1:{port}/" in text and "examiner" in text
        page = requests.get(f"http://127.0.0.1:{port}/login", timeout=30)
        assert page.status_code == 200 and "Log in" in page.text
        # The ledger witness runs beside them and names its key.
        witness = requests.get(f"http://127.0.0.1:{witness_port}/", timeout=30)
        assert witness.status_code == 200 and witness.text.startswith("demo.witness/local+")
        # A client configured like the server (same instance folder) reaches its worker.
        celery = create_app({"INSTANCE_PATH": str(tmp_path)}).extensions["celery"]
        answer = celery.send_task("workers.health").get(timeout=120)
        assert answer["ok"] is True and answer["database"] == "sqlite" and answer["labs"] >= 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
