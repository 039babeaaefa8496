"""One receive request, end to end, in process: statements and a CPU profile (issue 10).

Builds the production app (``create_app``, rate limiting on, as ``gunicorn wsgi:app`` runs it)
on a fresh PostgreSQL database, warms it up, then sends ``--requests`` receives through the WSGI
stack (werkzeug's test client: no sockets) and prints:

- the SQL statements of one receive (SQLAlchemy ``before_cursor_execute`` events), in order;
- the CPU per request in process (no server, no network) and that of its PostgreSQL backend;
- with ``--profile``, cProfile's top functions by cumulative and by own time.

    PYTHONPATH=. .venv/bin/python benchmarks/profile_receive.py --requests 300 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

#: the tree measured: this one, or another checkout (``--repo``, e.g. main's) for a comparison
REPO = Path(sys.argv[sys.argv.index("--repo") + 1] if "--repo" in sys.argv
            else Path(__file__).resolve().parent.parent).resolve()
sys.path.insert(0, str(REPO))
os.environ.setdefault("ARGON2_TIME_COST", "1")
os.environ.setdefault("ARGON2_MEMORY_KIB", "8192")

from tests.support.labs import make_lab  # noqa: E402
from tests.support.services import create_pg_database, drop_pg_database  # noqa: E402


def _own_benchmark(name: str):
    """A module of this script's folder (not ``--repo``'s, which may not have it)."""
    path = Path(__file__).resolve().parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _GcClock:
    """Counts the garbage collector's runs by generation and the CPU time spent in them."""

    def __init__(self) -> None:
        self.counts, self.seconds, self._started = [0, 0, 0], 0.0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.counts[info["generation"]] += 1
            self.seconds += time.process_time() - self._started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300, help="per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repo", help="measure this checkout instead (its code, same method)")
    ap.add_argument("--cases", type=int, default=50)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--save", help="write the cProfile data to this file (pstats)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="an app setting, e.g. RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/2 "
                         "or RATELIMIT_ENABLED=0 (a measurement of what the limiter costs)")
    ap.add_argument("--path", default="/api/v1/cases/{case}/items",
                    help="the endpoint measured; GET /api/v1/me is an authenticated no-write floor")
    args = ap.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import event

    from ballistics.app import create_app
    from ballistics.core.context import acting_as
    from ballistics.evidence.services import create_case
    from ballistics.extensions import db

    url = create_pg_database("ballistics_prof")
    instance = Path(tempfile.mkdtemp(prefix="receive-prof-"))
    os.environ["DATABASE_URL"] = url
    try:
        overrides = dict(item.split("=", 1) for item in args.set)
        if "RATELIMIT_ENABLED" in overrides:
            overrides["RATELIMIT_ENABLED"] = overrides["RATELIMIT_ENABLED"] not in ("0", "false")
        app = create_app({"INSTANCE_PATH": str(instance), "COMPARISON_AUTO_SEARCH": False,
                          "LEDGER_SEAL_SECONDS": 0, **overrides})
        with app.app_context():
            upgrade()
            kit = make_lab()
            tech = kit.users["tech"]
            with acting_as(tech.id, kit.lab.id, "bench"):
                cases = [create_case(tech, submitting_agency="Bench").id
                         for _ in range(args.cases)]
            db.session.commit()
            token = kit.tokens["tech"]
            db.session.remove()
            engine = db.engine

        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        body = {"kind": "cartridge_case", "from_agency": "Bench", "description": "prof"}

        def receive(i: int) -> None:
            path = args.path.format(case=cases[i % len(cases)])
            if "{case}" in args.path:
                r = client.post(path, json=body, headers=headers)
            else:
                r = client.get(path, headers=headers)
            assert r.status_code in (200, 201), r.get_data(as_text=True)

        for i in range(30):  # warm-up: imports, pools, caches
            receive(i)

        statements: list[str] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            statements.append(" ".join(statement.split())[:150]
                              + (" [executemany]" if executemany else ""))

        receive(0)
        event.remove(engine, "before_cursor_execute", _count)
        print(f"statements in one request ({args.path}): {len(statements)}")
        for s in statements:
            print("  ", s)

        profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall
        collections = _GcClock()
        walls, cpus = [], []
        database_cpu_seconds = _own_benchmark("custody_throughput").database_cpu_seconds
        db_cpus = []
        gc.callbacks.append(collections)
        for _ in range(1 if profiler else args.rounds):
            db_cpu = database_cpu_seconds(url)
            started, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            for i in range(args.requests):
                receive(i)
            if profiler:
                profiler.disable()
            walls.append((time.perf_counter() - started) / args.requests * 1000)
            cpus.append((time.process_time() - cpu) / args.requests * 1000)
            db_cpus.append((database_cpu_seconds(url) - db_cpu) / args.requests * 1000)
        gc.callbacks.remove(collections)
        n = len(cpus) * args.requests
        print(f"garbage collections per request: {collections.counts[0] / n:.2f} (gen 0), "
              f"{collections.counts[1] / n:.3f} (gen 1), {collections.counts[2] / n:.4f} (gen 2);"
              f" {collections.seconds / n * 1000:.3f} ms per request in them "
              f"({len(gc.get_objects()):,} objects tracked, {gc.get_freeze_count():,} frozen)")
        print(f"{REPO}: {len(cpus)} x {args.requests} requests in process, per request: CPU "
              f"(this process) median {statistics.median(cpus):.2f} ms, min {min(cpus):.2f} ms;"
              f" wall median {statistics.median(walls):.2f} ms"
              + (" (under cProfile)" if profiler else "")
              + f"; database CPU (its backend) median {statistics.median(db_cpus):.2f} ms")
        if profiler:
            calls = pstats.Stats(profiler).total_calls
            print(f"Python function calls per request: {calls / args.requests:,.0f}")
        if profiler:
            stats = pstats.Stats(profiler)
            if args.save:
                stats.dump_stats(args.save)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
        with app.app_context():
            db.engine.dispose()
    finally:
        del os.environ["DATABASE_URL"]
        drop_pg_database(url)


if __name__ == "__main__":
    main()
