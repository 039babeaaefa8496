"""Search latency against 1k, 10k and 100k references on PostgreSQL + Redis with a real worker.

References are bulk-inserted: a pool of real synthetic feature sets (firearms x firings) is
computed once, then N scans of N items point at them by content hash (equal content shares one
feature set, as in production). The query's two true mates are among the references. Reports
submit-to-stored latency, its stage-1 / stage-2 split, and the worker's peak resident memory.

    PYTHONPATH=. .venv/bin/python benchmarks/comparisons_search.py --sizes 1000 10000 100000
"""

from __future__ import annotations

import argparse
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
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus, Search  # noqa: E402
from ballistics.comparisons.searches import start_search  # noqa: E402
from ballistics.core.context import acting_as  # noqa: E402
from ballistics.evidence.models import Case, Item  # noqa: E402
from ballistics.extensions import db  # noqa: E402
from ballistics.imaging import synthetic  # noqa: E402
from tests.support.labs import make_lab  # noqa: E402
from tests.support.services import create_pg_database, drop_pg_database, migrated_app  # noqa: E402
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
        items = db.session.execute(insert(Item).returning(Item.id), [
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
        ids = db.session.execute(insert(Scan).returning(Scan.id), rows).scalars().all()
        if start == 0:
            query_id = ids[0]
    db.session.commit()
    return query_id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2, help="concurrency of the worker")
    args = ap.parse_args()

    url = create_pg_database("ballistics_bench_search")
    instance = Path(tempfile.mkdtemp())
    app = migrated_app(url, instance, CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
                       CELERY_RESULT_BACKEND="redis://127.0.0.1:6379/1",
                       CELERY_TASK_DEFAULT_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
                       COMPARISON_AUTO_SEARCH=False)
    try:
        t0 = time.perf_counter()
        pool = _pool(20, 3)
        print(f"pool of {len(pool)} real feature sets in {time.perf_counter() - t0:.1f} s "
              f"({imaging.ALGORITHM_VERSION})")
        with worker_process(app, concurrency=args.workers) as proc:
            peak = {"rss": 0}
            stop = threading.Event()

            def watch() -> None:
                ps = psutil.Process(proc.pid)
                while not stop.is_set():
                    try:
                        rss = sum(p.memory_info().rss for p in [ps, *ps.children(True)])
                        peak["rss"] = max(peak["rss"], rss)
                    except psutil.Error:
                        pass
                    time.sleep(0.05)

            threading.Thread(target=watch, daemon=True).start()
            print(f"{'refs':>8} {'total s':>8} {'stage1 ms':>10} {'stage2 ms':>10} "
                  f"{'mates top':>11} {'worker RSS MB':>13}")
            for n in args.sizes:
                with app.app_context():
                    kit = make_lab()
                    # The query is firing 0 of firearm 0; its mates are firings 1 and 2.
                    query_id = _bulk(kit, pool, n, pool[0][0])
                    with acting_as(kit.id("examiner"), kit.lab.id, "bench"):
                        scan = db.session.get(Scan, query_id)
                        peak["rss"] = 0
                        t0 = time.perf_counter()
                        search = start_search(kit.users["examiner"], scan, k=args.k)
                        db.session.commit()
                        sid = search.id
                    while True:
                        db.session.expire_all()
                        s = db.session.get(Search, sid)
                        if s.status in ("done", "failed"):
                            break
                        time.sleep(0.05)
                    total = time.perf_counter() - t0
                    # Mates' content appears n/59 times among the references: all of those
                    # copies must outrank every non-mate.
                    mates = {pool[1][0], pool[2][0]}
                    n_mates = sum(1 for c in s.candidates if c.reference_scan.sha256 in mates)
                    top = [c.reference_scan.sha256 for c in s.candidates[:n_mates]]
                    ranked_first = bool(top) and set(top) <= mates
                    print(f"{n:8d} {total:8.2f} {s.stage1_ms:10.0f} {s.stage2_ms or 0:10.0f} "
                          f"{ranked_first!s:>11} {peak['rss'] / 2**20:13.0f}")
                    db.session.remove()
            stop.set()
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_pg_database(url)


if __name__ == "__main__":
    main()
