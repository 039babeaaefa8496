"""Scans processed per minute with 1 and with 2 worker processes (PostgreSQL + Redis).

Uploads N synthetic x3p scans through the API, then times from the first upload until every
scan's features are stored, once with one worker process and once with two (each worker runs
one task at a time). Automatic searches are off so only feature extraction is measured.

    PYTHONPATH=. .venv/bin/python benchmarks/comparisons_throughput.py --scans 40
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ballistics.comparisons.models import Scan  # noqa: E402
from ballistics.extensions import db  # noqa: E402
from tests.comparisons.helpers import upload, x3p_bytes  # noqa: E402
from tests.support.labs import make_lab  # noqa: E402
from tests.support.services import broker_app, create_pg_database, drop_pg_database  # noqa: E402
from tests.support.web import Api  # noqa: E402
from tests.workerproc import worker_process  # noqa: E402


def _run(app, n: int, workers: int, seed0: int) -> float:
    with app.app_context():
        kit = make_lab()
        client = app.test_client()
        tech = Api(client, kit, "tech")
        files = [x3p_bytes(seed0 + i // 3, i % 3) for i in range(n)]
        items = [tech.receive(tech.new_case()["id"], "cartridge_case")["id"] for _ in range(n)]
        with contextlib.ExitStack() as stack:
            for w in range(workers):
                stack.enter_context(worker_process(app, name=f"bench{w}"))
            time.sleep(3)  # let the workers connect before the clock starts
            t0 = time.perf_counter()
            for item, data in zip(items, files, strict=True):
                assert upload(client, kit.headers("examiner"), item, data).status_code == 201
            while True:
                db.session.expire_all()
                done = db.session.scalar(select(func.count(Scan.id)).where(
                    Scan.lab_id == kit.lab.id, Scan.status.in_(["done", "failed"])))
                if done == n:
                    break
                time.sleep(0.1)
            elapsed = time.perf_counter() - t0
        db.session.remove()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scans", type=int, default=40)
    args = ap.parse_args()
    url = create_pg_database("ballistics_bench_tp")
    app = broker_app(url, Path(tempfile.mkdtemp()), "redis://127.0.0.1:6379/0")
    try:
        rates = {}
        for workers, seed0 in ((1, 1000), (2, 2000)):
            elapsed = _run(app, args.scans, workers, seed0)
            rates[workers] = args.scans / elapsed * 60
            print(f"{workers} worker(s): {args.scans} scans in {elapsed:.1f} s = "
                  f"{rates[workers]:.1f} scans/min")
        print(f"ratio 2 workers / 1 worker: {rates[2] / rates[1]:.2f}")
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_pg_database(url)


if __name__ == "__main__":
    main()
