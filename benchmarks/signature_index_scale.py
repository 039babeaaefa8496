"""Stage 1 from the segment files alone, at 1M (and more) signatures: no database, no broker.

Writes N random signatures as segments of 100k rows, in each ``--layout``: ``mixed`` (ids in
upload order, every lab's rows interleaved, as appends and the former rebuild wrote them) and
``per-lab`` (one lab's rows per segment, as ``flask comparisons reindex`` writes them now), then
measures in this process: writing, a new process's start-up (mapping the files and
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
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--layout", nargs="+", default=["mixed", "per-lab"],
                    choices=["mixed", "per-lab"])
    ap.add_argument("--compare-max", type=int, default=200_000,
                    help="check against the in-memory index up to this many admissible rows")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    root = Path(tempfile.mkdtemp(prefix="sigidx-"))
    try:
        # The same rows for every layout: eight labs share the files, ids in upload order.
        vectors = rng.standard_normal((args.rows, SIGNATURE_LENGTH)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        labs_all = rng.integers(0, 8, args.rows).astype(np.int32)
        query = vectors[4] + 0.1 * rng.standard_normal(SIGNATURE_LENGTH).astype(np.float32)
        segsets = {}
        for layout in args.layout:
            segsets[layout] = prepare(args, layout, root / layout, vectors, labs_all)
        for share in args.lab_share:
            scans(args, segsets, share, vectors, labs_all, query)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write(folder: Path, layout: str, vectors: np.ndarray, labs_all: np.ndarray,
          segment: int) -> None:
    """``mixed``: segments of consecutive ids (every lab's rows interleaved, as appends and
    the former rebuild wrote them); ``per-lab``: each lab's rows in segments of their own
    (as ``rebuild`` writes them now), ids ascending within each."""
    n_rows = len(vectors)
    ids = np.arange(1, n_rows + 1)
    groups = [ids] if layout == "mixed" else [ids[labs_all == lab]
                                               for lab in np.unique(labs_all)]
    for group in groups:
        for s in range(0, group.size, segment):
            part = group[s:s + segment]
            n = part.size
            write_segment(folder, V, part, labs_all[part - 1], [code("breech_face")] * n,
                          [code("9mm Luger")] * n, vectors[part - 1], prefix="r")


def prepare(args, layout: str, folder: Path, vectors: np.ndarray, labs_all: np.ndarray):
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    write(folder, layout, vectors, labs_all, args.segment)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.suffix == ".seg")
    print(f"[{layout}] wrote {args.rows} rows, {size / 2**20:.0f} MiB "
          f"({size / args.rows:.0f} B/row) in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    segments = SegmentSet(folder, V).refresh()
    print(f"[{layout}] start-up: map + check {len(segments)} segments in "
          f"{(time.perf_counter() - t0) * 1000:.0f} ms", flush=True)
    return segments


def scans(args, segsets: dict, share: float, vectors: np.ndarray, labs_all: np.ndarray,
          query: np.ndarray) -> None:
    """Stage 1 over one lab's rows (``share`` < 1) or every row, in each layout: the layouts
    take turns, ``--rounds`` times (the machine's load moves; a layout measured first paid
    for it in an earlier version of this benchmark)."""
    proc = psutil.Process()
    ids = np.arange(1, args.rows + 1)
    lab = 0
    admissible = ids[labs_all == lab] if share < 1.0 else ids
    kw = dict(region=code("breech_face"), calibre=code("9mm Luger"), admissible=admissible,
              k=args.k)
    if share >= 1.0:
        for segments in segsets.values():  # every row this lab's, for the 100 % case
            for s in segments:
                s.labs = np.zeros(len(s), np.int32)
                s.__dict__.pop("lab_set", None)
    rss0 = proc.memory_full_info()
    times = {layout: [] for layout in segsets}
    tops = {}
    order = list(segsets)
    for r in range(args.rounds):
        for layout in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            parts, _found = scan_shortlist(segsets[layout], query, 0, 2**31 - 1, lab=lab, **kw)
            top = merge_shortlists(parts, args.k)
            times[layout].append(time.perf_counter() - t0)
            tops[layout] = [i for i, _ in top]
    scanned = proc.memory_full_info()
    print(f"lab share {share:5.3f} ({admissible.size} admissible), {args.rounds} rounds:")
    for layout, ts in times.items():
        cuts = np.linspace(0, args.rows, args.shards + 1).astype(int)
        shard_ms, sharded = [], []
        for lo, hi in zip(cuts[:-1] + 1, cuts[1:], strict=True):
            t1 = time.perf_counter()
            sharded += scan_shortlist(segsets[layout], query, int(lo), int(hi), lab=lab,
                                      **kw)[0]
            shard_ms.append((time.perf_counter() - t1) * 1000)
        stop = [i for i, _ in merge_shortlists(sharded, args.k)]
        print(f"  [{layout}] stage 1 from the files: median {np.median(ts) * 1000:.0f} ms, "
              f"best {min(ts) * 1000:.0f} ms ({', '.join(f'{t * 1000:.0f}' for t in ts)}); "
              f"{args.shards} shards {', '.join(f'{m:.0f}' for m in shard_ms)} ms each; "
              f"sharded = whole: {stop == tops[layout]}", flush=True)
    if len(times) == 2:
        (na, a), (nb, b) = times.items()
        print(f"  median ratio {na} / {nb}: {np.median(a) / np.median(b):.2f}")
    print(f"  same top {args.k} in every layout: "
          f"{all(t == next(iter(tops.values())) for t in tops.values())}")
    if admissible.size <= args.compare_max:
        index = SignatureIndex()
        t0 = time.perf_counter()
        index.add(admissible.tolist(), vectors[admissible - 1])
        build = time.perf_counter() - t0
        mem = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            ref = index.search(query, args.k)
            mem.append(time.perf_counter() - t0)
        print(f"  in-memory index over the same rows: median {np.median(mem) * 1000:.0f} ms "
              f"(+{build:.1f} s to build it from rows already in memory); same top {args.k}: "
              f"{[i for i, _ in ref] == next(iter(tops.values()))}", flush=True)
        del index
    print(f"  this process after the scans: RSS {_mb(rss0.rss)} -> {_mb(scanned.rss)} "
          f"(USS {_mb(rss0.uss)} -> {_mb(scanned.uss)}); the mapped files are page cache, "
          "shared by every process of the machine")


if __name__ == "__main__":
    main()
