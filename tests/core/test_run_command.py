"""Smoke: the README's run command comes up on the embedded default and its worker answers;
with ``--network`` the partner lab's search runs at the hub and finds the demo lab's
references."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from ballistics.app import create_app
from ballistics.backup import archive
from ballistics.demo import DEMO_PASSWORD
from tests.support.services import REPO
from tests.support.web import TOKEN


def _free_ports(n: int) -> list[int]:
    """``n`` distinct ports the kernel had free (all held at once, so no two are the same)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


@contextlib.contextmanager
def _running(tmp_path, *args: str, **ports: int) -> Iterator[str]:
    """``scripts/run`` with these arguments and ports, until it says Ready; its output. Every
    port is asked of the kernel: the script's defaults (PORT + 1, ...) may be another
    process's when tests run in parallel."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "CELERY_", "INSTANCE_PATH", "NETWORK_",
                                "APP_ROLE"))}
    env.update(INSTANCE_PATH=str(tmp_path), **{k: str(v) for k, v in ports.items()})
    proc = subprocess.Popen(["bash", "scripts/run", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output.append(line)
            if line.startswith("Ready."):
                break
        text = "".join(output)
        assert "Ready." in text, text
        yield text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_run_command_serves_login_and_worker_answers_health(tmp_path):
    port, witness_port = _free_ports(2)
    with _running(tmp_path, PORT=port, WITNESS_PORT=witness_port) as text:
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
        # The first scheduled backup was made at start, and verifies.
        [backup] = [p.parent for p in (tmp_path / "backups").glob("*/manifest.json")]
        assert archive.verify(backup).ok


def _token(base: str, username: str) -> dict:
    answer = requests.post(f"{base}/api/v1/tokens", timeout=30,
                           json={"username": username, "password": DEMO_PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _until(what: str, check, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_run_network_the_partner_lab_finds_the_demo_labs_references(tmp_path):
    """Three deployments on one machine, each with its own database and worker: the partner
    lab's scan (a cartridge case fired by the demo lab's first firearm) is searched at the
    hub against what the labs share, and the demo lab's two scans of that firearm lead."""
    port, witness, hub_port, partner_port = _free_ports(4)
    with _running(tmp_path, "--network", PORT=port, WITNESS_PORT=witness, HUB_PORT=hub_port,
                  PARTNER_PORT=partner_port) as text:
        assert f"http://127.0.0.1:{partner_port}/" in text and "partner-manager" in text
        assert "hub-operator" in text
        partner = f"http://127.0.0.1:{partner_port}"
        auth = _token(partner, "partner")
        get = lambda path: requests.get(f"{partner}/api/v1{path}", headers=auth,  # noqa: E731
                                        timeout=30).json()
        [case] = get("/cases")
        [item] = case["items"]
        [scan] = get(f"/items/{item['id']}/scans")
        _until("the partner's features", lambda: get(f"/scans/{scan['id']}")["status"] == "done")

        def found() -> list[dict] | None:
            # The demo lab's scans reach the hub as their features are ready: search again
            # until they are there (each search is a new one, as an examiner's would be).
            started = requests.post(f"{partner}/api/v1/scans/{scan['id']}/partner-searches",
                                    json={}, headers=auth, timeout=30)
            assert started.status_code == 202, started.text
            search = _until("the partner search", lambda: (
                s if (s := get(f"/partner-searches/{started.json()['id']}"))["status"]
                in ("done", "failed") else None))
            assert search["status"] == "done", search
            return search["candidates"] if search["n_references"] >= 3 else None

        candidates = _until("the demo lab's three shared scans at the hub", found, 300)
        # Only what the demo lab shares (the partner's own scan is not a partner's), ranked:
        # its two cartridge cases of the same firearm first, far above the third.
        assert {c["owner"] for c in candidates} == {"DEMO"} and len(candidates) == 3
        first, second, third = (c["score"] for c in candidates)
        assert min(first, second) > 3 * third, candidates
        # The hub's staff sees its dashboard.
        hub = requests.Session()
        login = hub.get(f"http://127.0.0.1:{hub_port}/login", timeout=30).text
        token = TOKEN.search(login).group(1)
        hub.post(f"http://127.0.0.1:{hub_port}/login", timeout=30, data={
            "csrf_token": token, "username": "hub-operator", "password": DEMO_PASSWORD})
        dashboard = hub.get(f"http://127.0.0.1:{hub_port}/hub", timeout=30)
        assert dashboard.status_code == 200 and "DEMO" in dashboard.text
        # An exhibit the demo lab sends reaches the partner with its release proven (the hub
        # holds each lab's ledger key), so the partner records its arrival.
        demo = f"http://127.0.0.1:{port}"
        tech = _token(demo, "tech")
        [demo_case] = requests.get(f"{demo}/api/v1/cases", headers=tech, timeout=30).json()
        parcel = requests.post(f"{demo}/api/v1/cases/{demo_case['id']}/items", headers=tech,
                               timeout=30, json={"kind": "cartridge_case", "calibre": "9mm Luger",
                                                 "from_agency": "Central Police"}).json()
        sent = requests.post(f"{demo}/api/v1/items/{parcel['id']}/exhibit-transfers",
                             headers=tech, json={"partner": "PARTNER"}, timeout=30)
        assert sent.status_code == 201, sent.text
        arrived = _until("the exhibit at the partner", lambda: next(
            (t for t in get("/exhibit-transfers") if t["transfer_id"] == sent.json()[
                "transfer_id"]), None), 300)
        assert arrived["release_verified"], arrived["verification"]
        received = requests.post(f"{partner}/api/v1/exhibit-transfers/{arrived['id']}/receipt",
                                 headers=auth, json={"case_id": case["id"]}, timeout=30)
        assert received.status_code == 201, received.text
