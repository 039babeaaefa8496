"""Three real process groups on loopback: a hub and two (or more) lab nodes, each with its own
PostgreSQL database, gunicorn web process and Celery worker (one Redis broker, a queue each)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from flask import Flask

from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.ledger import labkeys
from ballistics.network import client, hub
from ballistics.network import hub_witness as hub_witness_module
from tests.support.labs import LabKit, make_lab
from tests.support.services import create_pg_database, drop_pg_database, free_port, migrated_app
from tests.workerproc import stop, web_process, worker_process

BROKER, RESULTS = "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"


@dataclass
class Group:
    """One process group: its app object (for set-up and checks), URL and processes."""

    name: str
    app: Flask
    url: str
    port: int
    kit: LabKit | None = None
    #: who -> login name of the lab's users
    usernames: dict = field(default_factory=dict)
    procs: dict = field(default_factory=dict)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def api(self, method: str, path: str, who: str = "examiner", expect: int | None = 200,
            **kwargs):
        response = requests.request(method, f"{self.url}/api/v1{path}",
                                    headers=self.kit.headers(who), timeout=60, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (self.name, path, response.status_code,
                                                    response.text[:500])
        return response.json()

    def task(self, name: str, *args, timeout: float = 120):
        """Run one of this group's tasks on its worker and wait for it."""
        return self.app.extensions["celery"].send_task(name, args=list(args)).get(
            timeout=timeout)

    def start_web(self) -> None:
        self.procs["web"] = self.stack.enter_context(web_process(self.app, self.port))

    def stop_web(self) -> None:
        stop(self.procs.pop("web"))


@contextlib.contextmanager
def cluster(tmp_path: Path, labs: tuple[str, ...] = ("LABA", "LABB"), *,
            hub_witness: bool = False, **lab_settings) -> Iterator[dict[str, Group]]:
    """``hub_witness``: the labs' custody ledgers are witnessed by the hub (their ledger keys
    registered there, LEDGER_WITNESSES pointing at /hub/witness)."""
    urls, groups = [], {}
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    try:
        for name in ("HUB", *labs):
            url = create_pg_database(f"ballistics_net_{name.lower()}")
            urls.append(url)
            port = hub_port if name == "HUB" else free_port()
            extra = {} if name == "HUB" else dict(lab_settings)
            if name != "HUB" and hub_witness:
                vkey = groups["HUB"].app.extensions["hub_witness"].vkey()
                extra["LEDGER_WITNESSES"] = f"{hub_url}/hub/witness {vkey}"
            settings = {"APP_ROLE": "hub" if name == "HUB" else "lab", **extra,
                        "NETWORK_HUB_URL": "" if name == "HUB" else hub_url,
                        "NETWORK_LAB": "" if name == "HUB" else name,
                        "CELERY_BROKER_URL": BROKER, "CELERY_RESULT_BACKEND": RESULTS,
                        "CELERY_TASK_DEFAULT_QUEUE": f"net-{name.lower()}-{uuid.uuid4().hex[:6]}",
                        "COMPARISON_AUTO_SEARCH": False, "OUTBOX_RELAY_SECONDS": 0.5,
                        "SECRET_KEY": uuid.uuid4().hex}
            app = migrated_app(url, tmp_path / name, **settings)
            groups[name] = Group(name, app, f"http://127.0.0.1:{port}", port)
        for name in labs:
            with groups[name].app.app_context():
                groups[name].kit = make_lab(code=name)
                groups[name].usernames = {w: u.username for w, u in groups[name].kit.users.items()}
                _, _, public = client.identity(name)
                db.session.remove()
                ledger_vkey = labkeys.keyring(name, labkeys.origin_for(name)).signer() \
                    .verifier().vkey()
            with groups["HUB"].app.app_context(), acting_as(None, None, "test:register"):
                hub.add_member(name, f"Laboratory {name}", public)
                db.session.commit()
                if hub_witness:
                    hub_witness_module.add_ledger_key(name, ledger_vkey)
                db.session.remove()
        for group in groups.values():
            group.start_web()
            group.procs["worker"] = group.stack.enter_context(
                worker_process(group.app, name=f"net-{group.name.lower()}", concurrency=2))
        yield groups
    finally:
        for group in groups.values():
            group.stack.close()
            with group.app.app_context():
                db.engine.dispose()
        for url in urls:
            drop_pg_database(url)
