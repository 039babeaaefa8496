"""Smoke: the README's run command comes up on the embedded default and its worker answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from ballistics.app import create_app
from tests.support.services import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_run_command_serves_login_and_worker_answers_health(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "CELERY_", "INSTANCE_PATH"))}
    env.update(INSTANCE_PATH=str(tmp_path), PORT=str(port))
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
        witness = requests.get(f"http://127.0.0.1:{port + 1}/", timeout=30)
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
