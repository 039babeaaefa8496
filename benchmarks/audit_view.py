"""Benchmark: the audit viewer on a lab whose log holds many entries (PostgreSQL).

Appends N audit entries to one lab (as the services write them), seals them into the lab's
ledger, then times the audit page (the ledger's state and the latest verification on record:
no full verification per view), a deep page, a filtered page, the CSV export of everything,
and the full verification a manager asks for ("Verify the whole log now"). Figures are
reported as ratios against the case list page measured in the same run.

    PYTHONPATH=$PWD python benchmarks/audit_view.py [--entries 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ballistics.audit.browse import chain_state
from ballistics.audit.models import AuditAction
from ballistics.audit.services import append
from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.ledger.sealer import seal_all
from tests.support.labs import make_lab
from tests.support.services import create_pg_database, drop_pg_database, migrated_app
from tests.support.web import Browser


def _timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = create_pg_database("ballistics_bench_audit")
    try:
        app = migrated_app(url, Path(tempfile.mkdtemp()))
        with app.app_context():
            kit = make_lab()
            with acting_as(kit.id("manager"), kit.lab.id, "bench"):
                for start in range(0, args.entries, 1000):
                    append(db.session, kit.lab.id, [
                        {"action": AuditAction.UPDATE, "object_type": "items",
                         "object_id": str(i % 500 + 1), "before": {"status": "a"},
                         "after": {"status": "b", "n": i}}
                        for i in range(start, min(start + 1000, args.entries))])
                db.session.commit()
            t0 = time.perf_counter()
            seal_all(kit.lab.id)
            sealed_s = time.perf_counter() - t0
            manager = Browser(app, kit, "manager")
            figures = {
                "case list (baseline)": _timed(lambda: manager.get("/cases"), args.repeat),
                "audit page 1": _timed(lambda: manager.get("/audit"), args.repeat),
                "audit page 200": _timed(lambda: manager.get("/audit?page=200"), args.repeat),
                "audit filtered to one record": _timed(
                    lambda: manager.get("/audit?object_type=items&object_id=7"), args.repeat),
                "CSV export of all entries": _timed(
                    lambda: manager.client.get("/audit/export.csv").text, args.repeat),
                "full verification (on request)": _timed(lambda: chain_state(kit.lab.id),
                                                         args.repeat),
            }
            base = figures["case list (baseline)"]
            print(f"{args.entries} entries; sealing took {sealed_s:.1f} s")
            for name, seconds in figures.items():
                print(f"{name:36s} {seconds * 1000:9.1f} ms  {seconds / base:7.1f} x baseline")
            db.session.remove()
    finally:
        drop_pg_database(url)


if __name__ == "__main__":
    main()
