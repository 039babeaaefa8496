"""Stage 1 from the segment files alone, at 1M (and more) signatures: no database, no broker.

Writes N random signatures as segments of 100k rows (as ``flask comparisons reindex`` does),
then measures in this process: writing, a new process's start-up (mapping the files and
checking every segment's SHA-256; the page cache is warm, as on a running machine), and the
stage-1 scan (:func:`ballistics.imaging.segments.scan_shortlist` + merge, K = 100) with the
admissible ids of one lab (its share of the rows given by ``--lab-share``), whole and split into
shards, against the in-memory SignatureIndex over the same rows (same answer). Reports the
process's resident memory before and after (the mapped pages are the page cache's, shared).

    PYTHONPATH=. .venv/bin/python benchmarks/signature_index_scale.py --rows 1000000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ballistics.imaging import SignatureIndex  # noqa: E402
from ballistics.imaging.index import merge_shortlists  # noqa: E402
from ballistics.imaging.segments import (  # noqa: E402
    SegmentSet,
    code,
    scan_shortlist,
    unblock,
    write_segment,
)
from ballistics.imaging.signature import SIGNATURE_LENGTH  # noqa: E402

V = "bench"


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--segment", type=int, default=100_000)
    ap.add_argument("--lab-share", type=float, nargs="+", default=[0.125, 1.0])
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--compare-max", type=int, default=200_000,
                    help="check against the in-memory index up to this many admissible rows")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    folder = Path(tempfile.mkdtemp(prefix="sigidx-"))
    proc = psutil.Process()
    try:
        t0 = time.perf_counter()
        labs_all = []
        for s in range(0, args.rows, args.segment):
            n = min(args.segment, args.rows - s)
            v = rng.standard_normal((n, SIGNATURE_LENGTH)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            labs = rng.integers(0, 8, n).astype(np.int32)  # eight labs share the files
            labs_all.append(labs)
            write_segment(folder, V, np.arange(s + 1, s + n + 1), labs, [code("breech_face")] * n,
                          [code("9mm Luger")] * n, v, prefix="r")
        size = sum(p.stat().st_size for p in folder.iterdir() if p.suffix == ".seg")
        print(f"wrote {args.rows} rows, {size / 2**20:.0f} MiB ({size / args.rows:.0f} B/row) "
              f"in {time.perf_counter() - t0:.1f} s")
        labs_all = np.concatenate(labs_all)
        rss0 = proc.memory_full_info()
        t0 = time.perf_counter()
        segments = SegmentSet(folder, V).refresh()
        print(f"start-up: map + check {len(segments)} segments in "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms")
        query = segments[0].vector(5) + 0.1 * rng.standard_normal(SIGNATURE_LENGTH
                                                                   ).astype(np.float32)
        for share in args.lab_share:
            ids = np.arange(1, args.rows + 1)
            lab = 0
            admissible = ids[labs_all == lab] if share < 1.0 else ids
            lab_col = lab if share < 1.0 else None
            kw = dict(region=code("breech_face"), calibre=code("9mm Luger"),
                      admissible=admissible, k=args.k)
            if lab_col is None:
                for s in segments:  # every row this lab's, for the 100 % case
                    s.labs = np.zeros(len(s), np.int32)
            best = []
            for _ in range(3):
                t0 = time.perf_counter()
                parts, _found = scan_shortlist(segments, query, 0, 2**31 - 1, lab=lab, **kw)
                top = merge_shortlists(parts, args.k)
                best.append(time.perf_counter() - t0)
            scanned = proc.memory_full_info()
            cuts = np.linspace(0, args.rows, args.shards + 1).astype(int)
            t0 = time.perf_counter()
            shard_ms = []
            sharded = []
            for lo, hi in zip(cuts[:-1] + 1, cuts[1:], strict=True):
                t1 = time.perf_counter()
                sharded += scan_shortlist(segments, query, int(lo), int(hi), lab=lab, **kw)[0]
                shard_ms.append((time.perf_counter() - t1) * 1000)
            stop = merge_shortlists(sharded, args.k)
            print(f"lab share {share:5.3f} ({admissible.size} admissible): stage 1 from the files "
                  f"{min(best) * 1000:.0f} ms (best of 3); {args.shards} shards "
                  f"{', '.join(f'{m:.0f}' for m in shard_ms)} ms each; sharded = whole: "
                  f"{[i for i, _ in top] == [i for i, _ in stop]}", flush=True)
            if admissible.size <= args.compare_max:
                index = SignatureIndex()
                t0 = time.perf_counter()
                rows = np.concatenate([np.asarray(s.blocks) for s in segments], axis=1)
                index.add(admissible.tolist(), unblock(rows)[admissible - 1])
                build = time.perf_counter() - t0
                t0 = time.perf_counter()
                ref = index.search(query, args.k)
                mem = time.perf_counter() - t0
                print(f"  in-memory index over the same rows {mem * 1000:.0f} ms (+{build:.1f} s "
                      f"to build it); same top {args.k}: "
                      f"{[i for i, _ in top] == [i for i, _ in ref]}", flush=True)
                del index, rows
            print(f"  this process after the scans: RSS {_mb(rss0.rss)} -> {_mb(scanned.rss)} "
                  f"(USS {_mb(rss0.uss)} -> {_mb(scanned.uss)}); the mapped files are page "
                  "cache, shared by every process of the machine")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
