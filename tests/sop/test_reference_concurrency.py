"""Simultaneous recordings of a lab's quality records (PostgreSQL, real HTTP, threads): each
takes the next reference of the year, none refused, none a 500 (two used to count the same
references and collide on the unique one)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from ballistics.extensions import db
from tests.support.labs import make_lab
from tests.support.services import serve

N = 12


def _at_once(base: str, path: str, bodies: list[dict], headers: dict) -> list:
    barrier = threading.Barrier(len(bodies))

    def send(body: dict) -> requests.Response:
        with requests.Session() as http:
            barrier.wait()
            return http.post(f"{base}/api/v1{path}", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


def test_simultaneous_complaints_and_nonconformities_take_distinct_references(pg_app):
    with pg_app.app_context():
        kit = make_lab()
        headers = kit.headers("manager")
        today = kit.lab.today().isoformat()
        db.session.remove()
    with serve(pg_app) as base:
        complaints = _at_once(base, "/complaints", [
            {"received_on": today, "complainant_name": f"Court {i}", "complainant_kind": "court",
             "channel": "email", "subject": "a delay"} for i in range(N)], headers)
        ncs = _at_once(base, "/nonconformities", [{"title": f"NC {i}"} for i in range(N)],
                       headers)
    for answers in (complaints, ncs):
        assert [r.status_code for r in answers] == [201] * N, [r.text[:200] for r in answers]
        references = sorted(r.json()["reference"] for r in answers)
        prefix = references[0][:8]
        assert references == [f"{prefix}{i:04d}" for i in range(1, N + 1)], references
