"""The persistent signature index the workers share (docs/signature-index.md).

One folder of append-only segment files per algorithm version, under ``SIGNATURE_INDEX``
(default: ``<IMAGE_STORE>/signature-index``). A scan's signature is appended once its features
are stored (the ``comparisons.index_scans`` task, sent through the outbox in the transaction
that marks the scan done, so it is never lost); every worker process maps the files and
keeps them mapped, so the machine's page cache holds one copy.

Stage 1 reads signatures only from the segments. What a search may see is decided by the
database at the moment of the search (:func:`admissible_ids`: ids only, the same rules as
before), so a reference withdrawn from the admissible set (closed case, another lab, ...)
disappears at once although its row stays in the files. An admissible reference missing from
the files (its append still on the way, a damaged segment set aside, an index never built) is
read from the database for that search and appended, so the index heals itself; ``flask
comparisons reindex`` rebuilds it in one go.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import func, select

from ballistics import imaging
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus
from ballistics.extensions import db
from ballistics.imaging import segments as seg

log = logging.getLogger(__name__)

#: appended segments smaller than this are merged once there are MERGE_AFTER of them
SMALL_SEGMENT = 4096
MERGE_AFTER = 16
#: rows per segment written by a rebuild
REBUILD_BATCH = 100_000
#: the highest id a shard range can hold (scans.id is a 32-bit integer)
MAX_ID = 2**31 - 1

_sets: dict[tuple[str, str], seg.SegmentSet] = {}


def folder(version: str | None = None, namespace: str = "") -> Path:
    """The folder of ``version``'s segments; ``namespace`` keeps another id space apart (the
    hub's shared records: ``hub``)."""
    root = current_app.config.get("SIGNATURE_INDEX") or \
        Path(current_app.config["IMAGE_STORE"]) / "signature-index"
    return Path(root) / namespace / (version or imaging.ALGORITHM_VERSION)


def segments(version: str | None = None, namespace: str = "") -> list[seg.Segment]:
    """The segments of ``version`` as this process maps them, new files included."""
    path = folder(version, namespace)
    key = (str(path), version or imaging.ALGORITHM_VERSION)
    segset = _sets.get(key)
    if segset is None:
        segset = _sets[key] = seg.SegmentSet(path, key[1])
    found = segset.refresh()
    while segset.damaged:
        # Its rows are restored from the database by the next search that needs them.
        log.error("signature index: %s was damaged and set aside", segset.damaged.pop())
    return found


def _rows(stmt) -> tuple[list[int], list[int], list[int], list[int], np.ndarray]:
    rows = db.session.execute(stmt).all()
    vectors = (np.stack([np.frombuffer(r[4], np.float32) for r in rows]) if rows
               else np.zeros((0, imaging.SIGNATURE_LENGTH), np.float32))
    return ([r[0] for r in rows], [r[1] for r in rows], [seg.code(str(r[2])) for r in rows],
            [seg.code(r[3] or "") for r in rows], vectors)


def _signature_rows(version: str):
    """Scan rows the index holds (done scans with features of ``version``) with signatures."""
    return (select(Scan.id, Scan.lab_id, Scan.region, Scan.calibre, FeatureSet.signature)
            .join(FeatureSet, (FeatureSet.sha256 == Scan.sha256)
                  & (FeatureSet.algorithm_version == version))
            .where(Scan.status == ScanStatus.DONE))


def append(scan_ids: list[int], version: str | None = None) -> int:
    """Append the signatures of these scans (those done, with features) as one segment."""
    version = version or imaging.ALGORITHM_VERSION
    ids, labs, regions, calibres, vectors = _rows(
        _signature_rows(version).where(Scan.id.in_(scan_ids)).order_by(Scan.id))
    if not ids:
        return 0
    seg.write_segment(folder(version), version, ids, labs, regions, calibres, vectors)
    merge_small(version)
    return len(ids)


def merge_small(version: str | None = None, namespace: str = "") -> None:
    """Merge the small appended segments into one, once there are enough of them (whoever
    holds the folder's lock does it; the others go on)."""
    version = version or imaging.ALGORITHM_VERSION
    small = [s for s in segments(version, namespace) if len(s) < SMALL_SEGMENT]
    if len(small) < MERGE_AFTER:
        return
    path = folder(version, namespace)
    with seg.folder_lock(path, blocking=False) as locked:
        if locked:
            small = [s for s in segments(version, namespace) if len(s) < SMALL_SEGMENT]
            if len(small) >= MERGE_AFTER:
                seg.merge_segments(path, version, small)


def rebuild(version: str | None = None, batch: int = REBUILD_BATCH) -> int:
    """Recreate the index of ``version`` from the database; return its rows.

    Each lab's rows go in segments of their own (ids ascending within each): a search scans
    its lab's rows as contiguous slices and skips the other labs' segments, instead of
    gathering its rows out of every segment. See :func:`replace_segments`.
    """
    version = version or imaging.ALGORITHM_VERSION

    def batches():
        labs_ = db.session.scalars(_signature_rows(version).with_only_columns(Scan.lab_id)
                                   .distinct().order_by(Scan.lab_id)).all()
        for lab_id in labs_:
            last = 0
            while True:
                rows = _rows(_signature_rows(version).where(Scan.lab_id == lab_id, Scan.id > last)
                             .order_by(Scan.id).limit(batch))
                if not rows[0]:
                    break
                yield rows
                last = rows[0][-1]

    return replace_segments(version, batches())


def replace_segments(version: str, batches: Iterable[tuple], namespace: str = "") -> int:
    """Write ``batches`` of ``(ids, labs, regions, calibres, vectors)`` as new segments of the
    folder, then delete its old ones; return the rows written. New segments come first, so a
    search meanwhile sees every row (some twice, which counts once); appends made meanwhile
    are kept (the folder's lock is held throughout)."""
    path = folder(version, namespace)
    total = 0
    with seg.folder_lock(path):
        old = sorted(path.glob(f"*{seg.SUFFIX}"))
        for ids, labs, regions, calibres, vectors in batches:
            seg.write_segment(path, version, ids, labs, regions, calibres, vectors, prefix="r")
            total += len(ids)
        for p in old:
            p.unlink(missing_ok=True)
    return total


def shard_ranges(version: str, shard_rows: int, namespace: str = "", max_id: int = MAX_ID
                 ) -> list[tuple[int, int]]:
    """Split the indexed ids into ranges of about ``shard_rows`` rows, covering every id up to
    ``max_id`` (a reference appended after the split still falls in a range)."""
    found = segments(version, namespace)
    if not found:
        return [(0, max_id)]
    ids = np.sort(np.concatenate([s.ids for s in found]))
    cuts = [int(ids[i]) for i in range(shard_rows, ids.size, shard_rows)]
    los = [0, *cuts]
    his = [c - 1 for c in cuts] + [max_id]
    return list(zip(los, his, strict=True))


def query_vector(version: str, scan_id: int) -> np.ndarray | None:
    """The query's signature from the index, if it is there."""
    for s in segments(version):
        sl = s.rows_between(scan_id, scan_id)
        if sl.stop > sl.start:
            return s.vector(sl.start)
    return None


def count(version: str | None = None, namespace: str = "") -> int:
    return sum(len(s) for s in segments(version, namespace))


def database_count(version: str | None = None) -> int:
    version = version or imaging.ALGORITHM_VERSION
    return db.session.scalar(select(func.count()).select_from(
        _signature_rows(version).with_only_columns(Scan.id).subquery()))


def map_before_fork(instance, label: str, count: Callable[[], int], role: str | None = None
                    ) -> None:
    """Map and check an index in a worker's main process (``celeryd_after_setup``: after the
    worker set its logging up, before its pool forks), so the children inherit the mapping
    (one copy per machine, in the page cache) and the first search does not pay for the check.
    ``count`` maps and counts the rows; ``role``: only in an app of that ``APP_ROLE``."""
    flask_app = getattr(getattr(instance, "app", None), "flask_app", None)
    if flask_app is None or (role is not None and flask_app.config["APP_ROLE"] != role):
        return
    with flask_app.app_context():
        t0 = time.perf_counter()
        try:
            rows = count()
        except OSError:  # a store not mounted yet: the first search maps it
            log.exception("%s: not mapped at start", label)
            return
        log.info("%s: %d rows mapped and checked in %.2f s", label, rows,
                 time.perf_counter() - t0)
