"""Custody API under load on PostgreSQL: 50 concurrent clients receive and hand over items.

Starts gunicorn on a fresh PostgreSQL database, runs a baseline phase (GET /api/v1/me, a trivial
authenticated read) and the custody phase (receive + hand-over, with 10% deliberate hand-overs
of an item the client no longer holds, which must answer 409), then verifies every item's chain.

    PYTHONPATH=. .venv/bin/python benchmarks/custody_load.py --clients 50 --seconds 60
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.labs import make_lab  # noqa: E402
from tests.support.services import create_pg_database, drop_pg_database, migrated_app  # noqa: E402


def _wait(url: str) -> None:
    for _ in range(100):
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def _phase(base: str, tokens: list[str], seconds: float, step) -> dict:
    latencies: dict[str, list[float]] = {}
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {tokens[i]}"
        state: dict = {"i": i, "rng": random.Random(i)}
        while time.monotonic() < stop_at:
            steps, answer = step(state), None
            while True:
                try:
                    name, method, path, body, expect = steps.send(answer)
                except StopIteration:
                    break
                t0 = time.perf_counter()
                r = http.request(method, base + path, json=body, timeout=60)
                dt = time.perf_counter() - t0
                with lock:
                    latencies.setdefault(name, []).append(dt)
                    statuses[(name, r.status_code, r.status_code in expect)] += 1
                answer = r.json() if r.status_code in (200, 201) else None

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(tokens))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    total = sum(statuses.values())
    return {"elapsed": elapsed, "requests": total, "rps": total / elapsed,
            "latency": {k: (statistics.median(v) * 1000,
                            statistics.quantiles(v, n=20)[18] * 1000, len(v))
                        for k, v in latencies.items()},
            "statuses": statuses}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--baseline-seconds", type=float, default=15)
    ap.add_argument("--web-workers", type=int, default=4)
    args = ap.parse_args()

    url = create_pg_database("ballistics_bench")
    instance = Path(tempfile.mkdtemp())
    server = None
    try:
        app = migrated_app(url, instance)
        with app.app_context():
            kit = make_lab(extra_users=args.clients)
            tokens = [kit.tokens[f"extra{i}"] for i in range(args.clients)]
            ids = [kit.id(f"extra{i}") for i in range(args.clients)]
            lab_id = kit.lab.id
            from ballistics.extensions import db
            db.session.remove()
        port = 8000 + os.getpid() % 1000
        env = {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": str(instance),
               "PYTHONPATH": str(REPO)}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(args.web_workers), "--threads", "8",
             "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=REPO, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}/api/v1"
        _wait(base + "/openapi.json")
        # One case per client, as technicians work on different submissions.
        cases = [requests.post(base + "/cases", json={"submitting_agency": "Bench"},
                               headers={"Authorization": f"Bearer {t}"}, timeout=30).json()["id"]
                 for t in tokens]

        def baseline(state):
            yield "GET /me", "GET", "/me", None, {200}

        def custody(state):
            i = state["i"]
            item = yield ("receive", "POST", f"/cases/{cases[i]}/items",
                          {"kind": "cartridge_case", "from_agency": "Bench"}, {201})
            if item is None:
                return
            to = ids[(i + 1) % len(ids)]
            yield "hand-over", "POST", f"/items/{item['id']}/transfer", {"to_user_id": to}, {201}
            if state["rng"].random() < 0.1:
                # Deliberately refused: the client no longer holds this item.
                yield ("refused hand-over", "POST", f"/items/{item['id']}/transfer",
                       {"to_user_id": ids[(i + 2) % len(ids)]}, {409})

        base_stats = _phase(base, tokens, args.baseline_seconds, baseline)
        stats = _phase(base, tokens, args.seconds, custody)

        from sqlalchemy import select

        from ballistics.evidence.chain import verify_chain
        from ballistics.evidence.models import Item
        with app.app_context():
            items = db.session.scalars(select(Item).where(Item.lab_id == lab_id)).all()
            broken = [i.id for i in items if not verify_chain(db.session, i).ok]
            db.session.remove()

        print(f"clients={args.clients} web workers={args.web_workers}x8 threads, PostgreSQL")
        print(f"baseline GET /me: {base_stats['rps']:.1f} req/s, p50 "
              f"{base_stats['latency']['GET /me'][0]:.1f} ms, p95 "
              f"{base_stats['latency']['GET /me'][1]:.1f} ms")
        print(f"custody phase: {stats['requests']} requests in {stats['elapsed']:.1f} s = "
              f"{stats['rps']:.1f} req/s")
        for name, (p50, p95, n) in stats["latency"].items():
            print(f"  {name:18s} n={n:6d} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                  f"(p50 {p50 / base_stats['latency']['GET /me'][0]:.1f}x baseline)")
        unexpected = {k: v for k, v in stats["statuses"].items() if not k[2]}
        print(f"  statuses: {dict((f'{k[0]} {k[1]}', v) for k, v in stats['statuses'].items())}")
        print(f"  unexpected statuses: {unexpected or 'none'}")
        print(f"chains verified: {len(items) - len(broken)}/{len(items)} items"
              + (f"; BROKEN: {broken[:10]}" if broken else ""))
        if unexpected or broken:
            raise SystemExit(1)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        drop_pg_database(url)


if __name__ == "__main__":
    main()
