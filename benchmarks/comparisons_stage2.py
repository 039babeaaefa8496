"""Stage 2 of a search (the top K compared in full, in chunks spread over the workers): where
its time goes, and how long it takes for several chunk sizes and K, in one run.

1. Profile, in this process, one chunk the way ``searches.compare_chunk`` runs it: the feature
   rows read from PostgreSQL, their decoding, the query's preparation (alignment + cells,
   cached on its ``Features``), the full comparison per pair, the likelihood ratio, the
   progress UPDATE.
2. Sweep, with real worker processes (PostgreSQL + Redis): for each K, stage 1 once in this
   process, then the stage-2 chord (``tasks._compare``) sent for each chunk size in turn,
   repeated ``--repeat`` times in rotating order, so every setting sees the same machine load.
   Time = chord sent -> search DONE (candidates stored), and the CPU seconds the worker
   processes spent on it (user + system, main processes and pool children): on a shared,
   loaded machine the wall time mostly measures the others, the CPU time what a setting costs.
   The load average is printed with each.

    PYTHONPATH=. .venv/bin/python benchmarks/comparisons_stage2.py --refs 2000 \\
        --ks 50 100 --chunks 5 10 25 50 --workers 2 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from sqlalchemy import select, update

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ballistics import imaging  # noqa: E402
from ballistics.comparisons import searches, signature_index, tasks, validation  # noqa: E402
from ballistics.comparisons.models import FeatureSet, Scan, Search, SearchStatus  # noqa: E402
from ballistics.core.context import acting_as  # noqa: E402
from ballistics.extensions import db  # noqa: E402
from benchmarks.comparisons_search import _bulk, _pool  # noqa: E402
from tests.support.labs import make_lab  # noqa: E402
from tests.support.services import broker_app, create_pg_database, drop_pg_database  # noqa: E402
from tests.workerproc import worker_process  # noqa: E402


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _new_search(who: tuple[int, int], query_id: int, k: int) -> Search:
    """A search row as ``start_search`` makes it, without the outbox message (the benchmark
    runs stage 1 itself and sends only the stage-2 chord)."""
    lab_id, user_id = who
    scan = db.session.get(Scan, query_id)
    search = Search(lab_id=lab_id, query_scan_id=query_id, scope="lab", k=k,
                    algorithm_version=imaging.ALGORITHM_VERSION,
                    filters={"region": scan.region, "calibre": scan.calibre},
                    created_by_id=user_id)
    db.session.add(search)
    db.session.flush()
    return search


def profile(who, query_id: int, chunk: int) -> None:
    lab_id, user_id = who
    with acting_as(user_id, lab_id, "bench"):
        search = _new_search(who, query_id, 100)
        searches.start(search)
        top = searches.rank(search)
        ids = [sid for sid, _ in top[:chunk]]
        version = search.algorithm_version
        t = {}
        t0 = time.perf_counter()
        rows = db.session.execute(
            select(Scan.id, FeatureSet.data)
            .join(FeatureSet, (FeatureSet.sha256 == Scan.sha256)
                  & (FeatureSet.algorithm_version == version))
            .where(Scan.id.in_([query_id, *ids]))).all()
        t["read rows"] = time.perf_counter() - t0
        nbytes = sum(len(r[1]) for r in rows)
        t0 = time.perf_counter()
        feats = {sid: imaging.features_from_bytes(data) for sid, data in rows}
        t["decode"] = time.perf_counter() - t0
        query = feats[query_id]
        px = query.pixel_um
        from ballistics.imaging.align import prepare
        from ballistics.imaging.cmc import CMCParams, prepare_cells
        p = CMCParams()
        t0 = time.perf_counter()
        query.cached(("align", px), lambda: prepare(query.heights, query.mask, px))
        query.cached(("cells", px, p.n_cells, p.min_valid_frac, p.max_shift_um),
                     lambda: prepare_cells(query.heights, query.mask, px, p))
        t["query prepare (once per search)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        results = [imaging.compare(query, feats[sid]) for sid in ids]
        t["compare (all pairs)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for r, sid in zip(results, ids, strict=True):
            validation.likelihood_ratio(r.score, query.meta, feats[sid].meta)
            r.to_dict(exclude=searches.UNSTORED)
        t["LR + to_dict"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        db.session.execute(update(Search).where(Search.id == search.id)
                           .values(progress_done=Search.progress_done + len(ids)))
        db.session.commit()
        t["progress UPDATE + commit"] = time.perf_counter() - t0
    total = sum(t.values())
    print(f"\nprofile of one chunk of {len(ids)} pairs in this process (load {_load()}); "
          f"{len(rows)} feature rows, {nbytes / len(rows) / 1024:.0f} KiB each")
    for name, v in t.items():
        print(f"  {name:<32} {v * 1000:8.1f} ms  {100 * v / total:5.1f} %")
    print(f"  {'per pair, all included':<32} {total / len(ids) * 1000:8.1f} ms")


def _cpu(procs: list) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(True)]:
                t = p.cpu_times()
                total += t.user + t.system
    return total


def stage2(app, who, query_id: int, k: int, chunk: int, top: list, procs: list
           ) -> tuple[float, float, int]:
    """Send the stage-2 chord of ``top`` in chunks of ``chunk``; seconds until DONE and the
    workers' CPU seconds."""
    lab_id, user_id = who
    with app.app_context():
        with acting_as(user_id, lab_id, "bench"):
            search = _new_search(who, query_id, k)
            searches.start(search)
            chunks = searches.to_chunks(search, list(top), chunk)
            db.session.commit()
            sid = search.id
        cpu0, t0 = _cpu(procs), time.perf_counter()
        tasks._compare(sid, chunks)
        while True:
            db.session.expire_all()
            s = db.session.get(Search, sid)
            if s.status in (SearchStatus.DONE, SearchStatus.FAILED):
                break
            time.sleep(0.02)
        elapsed, cpu = time.perf_counter() - t0, _cpu(procs) - cpu0
        if s.status != SearchStatus.DONE:
            raise SystemExit(f"search failed: {s.error}")
        n = len(s.candidates)
        db.session.remove()
    return elapsed, cpu, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--refs", type=int, default=2000)
    ap.add_argument("--ks", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--chunks", type=int, nargs="+", default=[5, 10, 25, 50])
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--concurrency", type=int, default=1, help="pool size of each worker")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pool", type=int, default=12, help="firearms in the real pool (x3 firings)")
    args = ap.parse_args()

    url = create_pg_database("ballistics_bench_stage2")
    instance = Path(tempfile.mkdtemp())
    app = broker_app(url, instance, "redis://127.0.0.1:6379/0")
    try:
        t0 = time.perf_counter()
        pool = _pool(args.pool, 3)
        print(f"pool of {len(pool)} real feature sets in {time.perf_counter() - t0:.1f} s "
              f"({imaging.ALGORITHM_VERSION})", flush=True)
        with app.app_context():
            kit = make_lab()
            query_id = _bulk(kit, pool, args.refs, pool[0][0])
            who = (kit.lab.id, kit.id("examiner"))
            # begin(), not connect(): an ANALYZE in a transaction rolled back keeps no
            # statistics (the 1M run planned a bitmap scan of all 1M rows per shard).
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            signature_index.rebuild()
            profile(who, query_id, 10)
            tops = {}
            with acting_as(who[1], who[0], "bench"):
                for k in args.ks:
                    s = _new_search(who, query_id, k)
                    searches.start(s)
                    tops[k] = searches.rank(s)
                db.session.rollback()
            db.session.remove()

        results: dict[tuple[int, int], list[tuple[float, float]]] = {}
        with contextlib.ExitStack() as stack:
            procs = [stack.enter_context(worker_process(app, name=f"s2w{i}",
                                                        concurrency=args.concurrency))
                     for i in range(args.workers)]
            time.sleep(8)  # workers up and consuming
            stage2(app, who, query_id, args.ks[0], args.chunks[0], tops[args.ks[0]],
                   procs)  # warm-up
            settings = [(k, c) for k in args.ks for c in args.chunks]
            print(f"\n{args.workers} workers x concurrency {args.concurrency}, "
                  f"{args.refs} references", flush=True)
            for rep in range(args.repeat):
                shift = rep % len(settings)
                for k, c in settings[shift:] + settings[:shift]:
                    elapsed, cpu, n = stage2(app, who, query_id, k, c, tops[k], procs)
                    results.setdefault((k, c), []).append((elapsed, cpu))
                    print(f"  K {k:4d} chunk {c:3d} ({-(-k // c):3d} tasks): {elapsed:6.2f} s, "
                          f"workers' CPU {cpu:6.2f} s, {n} candidates, load {_load()}",
                          flush=True)

        print(f"\nsummary: stage 2, median of {args.repeat} (min-max), load now {_load()}")
        for (k, c), v in sorted(results.items()):
            wall, cpu = [x[0] for x in v], [x[1] for x in v]
            print(f"  K {k:4d} chunk {c:3d}: {statistics.median(wall):6.2f} s "
                  f"({min(wall):.2f}-{max(wall):.2f}); workers' CPU "
                  f"{statistics.median(cpu):6.2f} s ({min(cpu):.2f}-{max(cpu):.2f}), "
                  f"{statistics.median(cpu) / k * 1000:5.0f} ms CPU/pair")
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_pg_database(url)


if __name__ == "__main__":
    main()
