"""Search latency at 10k, 100k (and 1M) references on PostgreSQL + Redis with two real worker
processes: the signature index (stage 1 from shared, memory-mapped segment files) against the
former stage 1 (every admissible signature loaded from the database), in the same run.

References are bulk-inserted: a pool of real synthetic feature sets (firearms x firings) is
computed once, then N scans of N items point at them by content hash (equal content shares one
feature set, as in production), each size in a lab of its own (all of them in the same index
files: the lab filter masks the others). The query's two true mates are among the references.
The index is built with ``signature_index.rebuild()`` (``flask comparisons reindex``).

For each size and implementation: submit -> candidate list stored (K = 100), its stage-1 /
stage-2 split (the first search after the workers start, "cold", and the next, "warm"), and
the peak resident memory of each worker (its main process plus its pool child; RSS counts
the mapped index pages the machine shares once, USS only what the worker holds alone).

    PYTHONPATH=. .venv/bin/python benchmarks/comparisons_search.py --sizes 10000 100000
    PYTHONPATH=. .venv/bin/python benchmarks/comparisons_search.py --sizes 1000000 \\
        --baseline-max 100000    # the former implementation only up to 100k
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
from sqlalchemy import insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ballistics import imaging  # noqa: E402
from ballistics.auth.models import User  # noqa: E402
from ballistics.comparisons import signature_index  # noqa: E402
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus, Search  # noqa: E402
from ballistics.comparisons.searches import start_search  # noqa: E402
from ballistics.core.context import acting_as  # noqa: E402
from ballistics.evidence.models import Case, Item  # noqa: E402
from ballistics.extensions import db  # noqa: E402
from ballistics.imaging import segments as seg  # noqa: E402
from ballistics.imaging import synthetic  # noqa: E402
from tests.support.labs import make_lab  # noqa: E402
from tests.support.services import broker_app, create_pg_database, drop_pg_database  # noqa: E402
from tests.workerproc import worker_process  # noqa: E402


def _pool(n_firearms: int, firings: int) -> list[tuple[str, imaging.Features]]:
    out = []
    for gun in range(n_firearms):
        fa = synthetic.make_firearm(gun)
        for shot in range(firings):
            feats = imaging.extract_features(synthetic.fire(fa, shot))
            out.append((f"bench-{gun}-{shot}".ljust(64, "0")[:64], feats))
    return out


def _bulk(kit, pool, n: int, query_sha: str) -> int:
    """Insert n reference scans cycling over the pool; return the query scan id."""
    user = kit.users["examiner"]
    for sha, feats in pool:
        if db.session.scalar(select(FeatureSet.id).where(FeatureSet.sha256 == sha)) is None:
            db.session.add(FeatureSet(sha256=sha, algorithm_version=imaging.ALGORITHM_VERSION,
                                      signature=feats.signature.tobytes(),
                                      data=imaging.features_to_bytes(feats)))
    case = Case(lab_id=kit.lab.id, year=2026, seq=1, lab_case_number=f"B-{uuid.uuid4().hex[:8]}",
                submitting_agency="bench", created_by_id=user.id)
    db.session.add(case)
    db.session.flush()
    batch = 5000
    for start in range(0, n + 1, batch):
        count = min(batch, n + 1 - start)
        items = db.session.execute(
            insert(Item).returning(Item.id, sort_by_parameter_order=True), [
                {"lab_id": kit.lab.id, "case_id": case.id, "number": str(start + i),
                 "barcode": f"{case.lab_case_number}/{start + i}", "kind": "cartridge_case",
                 "calibre": "9mm Luger"} for i in range(count)]).scalars().all()
        rows = []
        for i, item_id in enumerate(items):
            k = start + i
            sha = query_sha if k == 0 else pool[(k - 1) % (len(pool) - 1) + 1][0]
            rows.append({"lab_id": kit.lab.id, "item_id": item_id, "sha256": sha,
                         "filename": "bench.x3p", "file_format": "x3p", "size_bytes": 1,
                         "width": 700, "height": 700, "pixel_um": 6.25, "region": "breech_face",
                         "calibre": "9mm Luger", "status": ScanStatus.DONE.value,
                         "uploaded_by_id": user.id})
        ids = db.session.execute(insert(Scan).returning(Scan.id, sort_by_parameter_order=True),
                                 rows).scalars().all()
        if start == 0:
            query_id = ids[0]
        db.session.commit()
    return query_id


class Watch:
    """Peak RSS and USS of each worker (main process + pool children), sampled."""

    def __init__(self, procs: list) -> None:
        self.procs = [psutil.Process(p.pid) for p in procs]
        self.rss = [0] * len(procs)
        self.uss = [0] * len(procs)
        self.stopping = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def reset(self) -> None:
        self.rss = [0] * len(self.procs)
        self.uss = [0] * len(self.procs)

    def _run(self) -> None:
        while not self.stopping.is_set():
            for i, ps in enumerate(self.procs):
                with contextlib.suppress(psutil.Error):
                    tree = [ps, *ps.children(True)]
                    self.rss[i] = max(self.rss[i], sum(p.memory_info().rss for p in tree))
                    self.uss[i] = max(self.uss[i], sum(p.memory_full_info().uss for p in tree))
            time.sleep(0.1)


def _search(app, who: tuple[int, int], query_id: int, k: int, watch: Watch
            ) -> tuple[float, Search]:
    lab_id, user_id = who
    with app.app_context():
        with acting_as(user_id, lab_id, "bench"):
            scan = db.session.get(Scan, query_id)
            watch.reset()
            t0 = time.perf_counter()
            search = start_search(db.session.get(User, user_id), scan, k=k)
            db.session.commit()
            sid = search.id
        while True:
            db.session.expire_all()
            s = db.session.get(Search, sid)
            if s.status in ("done", "failed"):
                break
            time.sleep(0.02)
        total = time.perf_counter() - t0
        if s.status != "done":
            raise SystemExit(f"search failed: {s.error}")
        s.candidates  # noqa: B018 - loaded while the session is open
        return total, s


def _fmt(t: tuple | None) -> str:
    if t is None:
        return f"{'-':>8} {'-':>7} {'-':>7} {'-':>7}"
    return f"{t[0]:8.2f} {t[1]:7.0f} {t[2]:7.0f} {t[3]:7.0f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2, help="worker processes (concurrency 1)")
    ap.add_argument("--baseline-max", type=int, default=100000,
                    help="run the former implementation only up to this many references")
    ap.add_argument("--pool", type=int, default=12, help="firearms in the real pool (x3 firings)")
    args = ap.parse_args()

    url = create_pg_database("ballistics_bench_search")
    instance = Path(tempfile.mkdtemp())
    app = broker_app(url, instance, "redis://127.0.0.1:6379/0")
    try:
        t0 = time.perf_counter()
        pool = _pool(args.pool, 3)
        print(f"pool of {len(pool)} real feature sets in {time.perf_counter() - t0:.1f} s "
              f"({imaging.ALGORITHM_VERSION})", flush=True)
        labs = {}
        with app.app_context():
            for n in args.sizes:
                t0 = time.perf_counter()
                kit = make_lab()
                # The query is firing 0 of firearm 0; its mates are firings 1 and 2.
                query_id = _bulk(kit, pool, n, pool[0][0])
                labs[n] = ((kit.lab.id, kit.id("examiner")), query_id)
                print(f"{n} references inserted in {time.perf_counter() - t0:.1f} s", flush=True)
            # As autovacuum would after a bulk load: without statistics the planner joins
            # 100k scans to feature sets by nested loop (seconds instead of milliseconds).
            # begin(), not connect(): an ANALYZE in a transaction rolled back keeps no
            # statistics (the 1M run planned a bitmap scan of all 1M rows per shard).
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            t0 = time.perf_counter()
            rows = signature_index.rebuild()
            folder = signature_index.folder()
            size = sum(p.stat().st_size for p in folder.glob(f"*{seg.SUFFIX}"))
            print(f"index rebuilt: {rows} rows, {size / 2**20:.0f} MiB, "
                  f"{time.perf_counter() - t0:.1f} s ({size / rows:.0f} B/row)")
            t0 = time.perf_counter()
            fresh = seg.SegmentSet(folder, imaging.ALGORITHM_VERSION).refresh()
            print(f"a new process maps and checks {sum(len(s) for s in fresh)} rows in "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms (page cache warm)", flush=True)
            db.session.remove()

        results = []
        for mode in ("index", "database"):
            os.environ["SEARCH_FROM_INDEX"] = "1" if mode == "index" else "0"
            app.config["SEARCH_FROM_INDEX"] = mode == "index"
            sizes = [n for n in args.sizes if mode == "index" or n <= args.baseline_max]
            if not sizes:
                continue
            with contextlib.ExitStack() as stack:
                procs = [stack.enter_context(worker_process(app, name=f"{mode}{i}"))
                         for i in range(args.workers)]
                time.sleep(8)  # both workers up and consuming
                watch = Watch(procs)
                for n in sizes:
                    who, query_id = labs[n]
                    for run in ("cold", "warm", "warm"):
                        total, s = _search(app, who, query_id, args.k, watch)
                        mates = {pool[1][0], pool[2][0]}
                        with app.app_context():
                            s = db.session.merge(s, load=True)
                            shas = [c.reference_scan.sha256 for c in s.candidates]
                            n_mates = sum(1 for sha in shas if sha in mates)
                            ranked_first = bool(n_mates) and set(shas[:n_mates]) <= mates
                            db.session.remove()
                        results.append((mode, n, run, total, s.stage1_ms, s.stage2_ms,
                                        ranked_first, max(watch.rss), max(watch.uss)))
                        r = results[-1]
                        print(f"{mode:>8} {n:>8} {run:>4} total {total:6.2f} s  stage1 "
                              f"{r[4]:7.0f} ms  stage2 {r[5]:7.0f} ms  mates first {r[6]!s:>5}"
                              f"  peak RSS/worker {r[7] / 2**20:5.0f} MB  USS "
                              f"{r[8] / 2**20:5.0f} MB", flush=True)
                watch.stopping.set()

        print("\nsummary (warm = median of the two warm runs)")
        print(f"{'refs':>8} {'index s':>8} {'st1 ms':>7} {'st2 ms':>7} {'RSS MB':>7} "
              f"{'database s':>10} {'st1 ms':>7} {'st2 ms':>7} {'RSS MB':>7} {'ratio':>6}")
        for n in args.sizes:
            row = []
            for mode in ("index", "database"):
                warm = [r for r in results if r[0] == mode and r[1] == n and r[2] == "warm"]
                if warm:
                    row.append((statistics.median(r[3] for r in warm),
                                statistics.median(r[4] for r in warm),
                                statistics.median(r[5] for r in warm),
                                max(r[7] for r in warm) / 2**20))
                else:
                    row.append(None)
            idx, base = row
            ratio = f"{base[0] / idx[0]:6.2f}" if idx and base else "     -"
            print(f"{n:8d} {_fmt(idx)} {_fmt(base):>10} {ratio}")
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_pg_database(url)


if __name__ == "__main__":
    main()
