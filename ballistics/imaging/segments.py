"""Append-only segment files of stage-1 signatures, memory-mapped and shared between processes.

A signature index of one algorithm version is a folder of segment files. A segment is written
once (temporary file, ``fsync``, ``rename``, ``fsync`` of the folder) and never changed; worker
processes on one machine map the same files, so the page cache holds one copy of the
signatures whatever the number of processes. A file is checked against its header (size and
SHA-256 of the body) when a process first maps it: a torn or damaged file raises
:class:`SegmentDamaged` and is never used (the caller quarantines it and restores its rows).

Layout of a segment (little-endian)::

    4096-byte header: b"BSIGSEG1\\n" + JSON manifest, padded with spaces
    ids       int64  [n]      (ascending: a segment is sorted by id)
    labs      int32  [n]      filter columns, for masking inside the index
    regions   uint32 [n]      crc32 of the region of the scan ("breech_face", ...)
    calibres  uint32 [n]      crc32 of the calibre (0 for none recorded)
    blocks    float32[SIG_FREQS, n, 2 SIG_RINGS]   the layout the scan multiplies (index.py)

Filter columns narrow the scan; the caller's admissible ids (from the database) decide.
No Flask or database here.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import tempfile
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ballistics.imaging.errors import ImagingError
from ballistics.imaging.index import _PERM, _W
from ballistics.imaging.signature import SIG_FREQS, SIGNATURE_LENGTH

MAGIC = b"BSIGSEG1\n"
HEADER_BYTES = 4096
SUFFIX = ".seg"
FORMAT = 1
_ALIGN = 64


class SegmentDamaged(ImagingError):
    """A segment file does not match its header (torn write, truncation, bit rot)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"signature segment {path.name} is damaged: {reason}")
        self.path = path


def code(text: str) -> int:
    """The filter code of a calibre or region: crc32 of the text, 0 for none."""
    return zlib.crc32(text.encode()) & 0xFFFFFFFF


def _layout(n: int) -> tuple[dict[str, tuple[int, str, tuple[int, ...]]], int]:
    cols = [("ids", "<i8", (n,)), ("labs", "<i4", (n,)), ("regions", "<u4", (n,)),
            ("calibres", "<u4", (n,)), ("blocks", "<f4", (SIG_FREQS, n, _W))]
    out, offset = {}, 0
    for name, dtype, shape in cols:
        out[name] = (offset, dtype, shape)
        offset += int(np.dtype(dtype).itemsize * np.prod(shape))
        offset = -(-offset // _ALIGN) * _ALIGN
    return out, offset


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_segment(folder: Path, algorithm_version: str, ids: Sequence[int],
                  labs: Sequence[int], regions: Sequence[int], calibres: Sequence[int],
                  vectors: np.ndarray, *, prefix: str = "a") -> Path:
    """Write one segment (rows sorted by id) atomically; return its path.

    ``vectors`` are signatures as stored (``n x SIGNATURE_LENGTH``); ``regions`` and
    ``calibres`` are :func:`code` values.
    """
    v = np.asarray(vectors, np.float32).reshape(-1, SIGNATURE_LENGTH)
    n = v.shape[0]
    if not (len(ids) == len(labs) == len(regions) == len(calibres) == n):
        raise ImagingError("a segment needs one id, lab, region and calibre per signature")
    order = np.argsort(np.asarray(ids, np.int64), kind="stable")
    cols = {"ids": np.asarray(ids, np.int64)[order], "labs": np.asarray(labs, np.int32)[order],
            "regions": np.asarray(regions, np.uint32)[order],
            "calibres": np.asarray(calibres, np.uint32)[order],
            "blocks": np.ascontiguousarray(
                v[order][:, _PERM].reshape(n, SIG_FREQS, _W).transpose(1, 0, 2))}
    layout, body_bytes = _layout(n)
    body = bytearray(body_bytes)
    for name, (offset, dtype, shape) in layout.items():
        arr = np.ascontiguousarray(cols[name], dtype=dtype).reshape(shape)
        body[offset:offset + arr.nbytes] = arr.tobytes()
    manifest = {"format": FORMAT, "algorithm_version": algorithm_version,
                "dims": SIGNATURE_LENGTH, "count": n, "body_bytes": body_bytes,
                "min_id": int(cols["ids"][0]) if n else 0,
                "max_id": int(cols["ids"][-1]) if n else -1,
                "sha256": hashlib.sha256(body).hexdigest()}
    header = MAGIC + json.dumps(manifest).encode()
    if len(header) > HEADER_BYTES:
        raise ImagingError("segment manifest too long")
    folder.mkdir(parents=True, exist_ok=True)
    # Names sort by creation time; the random part keeps concurrent writers apart.
    name = f"{prefix}-{time_ns():020d}-{uuid.uuid4().hex[:8]}{SUFFIX}"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header.ljust(HEADER_BYTES, b" "))
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return folder / name


def time_ns() -> int:
    import time

    return time.time_ns()


def unblock(blocks: np.ndarray) -> np.ndarray:
    """Signatures in their original order (``n x SIGNATURE_LENGTH``) from stored blocks."""
    n = blocks.shape[1]
    out = np.empty((n, SIGNATURE_LENGTH), np.float32)
    out[:, _PERM] = np.asarray(blocks, np.float32).transpose(1, 0, 2).reshape(n, -1)
    return out


@dataclass
class Segment:
    """A mapped, checked segment: read-only views of its columns."""

    path: Path
    manifest: dict
    ids: np.ndarray
    labs: np.ndarray
    regions: np.ndarray
    calibres: np.ndarray
    blocks: np.ndarray  # (SIG_FREQS, n, 2 SIG_RINGS)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def rows_between(self, lo: int, hi: int) -> slice:
        """Rows with ``lo <= id <= hi`` (ids are sorted, so a contiguous slice)."""
        return slice(int(np.searchsorted(self.ids, lo, "left")),
                     int(np.searchsorted(self.ids, hi, "right")))

    def vector(self, row: int) -> np.ndarray:
        """The stored signature of ``row`` in its original order."""
        return unblock(self.blocks[:, row:row + 1])[0]

    @functools.cached_property
    def lab_set(self) -> frozenset[int]:
        """The labs with rows here (once per process): a scan skips a segment that holds no
        row of its lab (a rebuilt index writes one lab's rows per segment)."""
        return frozenset(np.unique(self.labs).tolist())


def open_segment(path: Path, algorithm_version: str, *, verify: bool = True) -> Segment:
    """Map a segment, checking its header, size and (``verify``) the body's SHA-256."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(HEADER_BYTES)
    except FileNotFoundError:
        raise
    if len(head) < HEADER_BYTES or not head.startswith(MAGIC):
        raise SegmentDamaged(path, "no segment header")
    try:
        manifest = json.loads(head[len(MAGIC):].decode().strip())
    except ValueError as exc:
        raise SegmentDamaged(path, f"unreadable manifest ({exc})") from exc
    if manifest.get("format") != FORMAT or manifest.get("dims") != SIGNATURE_LENGTH:
        raise SegmentDamaged(path, f"format {manifest.get('format')}, dims "
                                   f"{manifest.get('dims')}")
    if manifest.get("algorithm_version") != algorithm_version:
        raise SegmentDamaged(path, f"written for {manifest.get('algorithm_version')}")
    n = int(manifest["count"])
    layout, body_bytes = _layout(n)
    if body_bytes != manifest["body_bytes"] or size != HEADER_BYTES + body_bytes:
        raise SegmentDamaged(path, f"{size} bytes, the header says "
                                   f"{HEADER_BYTES + manifest['body_bytes']}")
    if n == 0:
        empty = {name: np.zeros(shape, dtype) for name, (_, dtype, shape) in layout.items()}
        return Segment(path, manifest, **empty)
    mm = np.memmap(path, dtype=np.uint8, mode="r", offset=HEADER_BYTES, shape=(body_bytes,))
    if verify:
        digest = hashlib.sha256()
        step = 64 << 20
        for s in range(0, body_bytes, step):
            digest.update(mm[s:s + step])
        if digest.hexdigest() != manifest["sha256"]:
            raise SegmentDamaged(path, "body does not match its SHA-256")
    cols = {name: mm[offset:offset + int(np.dtype(dtype).itemsize * np.prod(shape))]
            .view(dtype).reshape(shape) for name, (offset, dtype, shape) in layout.items()}
    return Segment(path, manifest, **cols)


class SegmentSet:
    """The segments of one folder, kept mapped by this process between searches.

    :meth:`refresh` lists the folder (cheap) and maps only new files, so a segment appended by
    another process is seen by the next search. Damaged files are renamed ``*.damaged`` (kept
    for inspection) and reported in :attr:`damaged`; their rows must be restored by the caller.
    """

    def __init__(self, folder: Path, algorithm_version: str) -> None:
        self.folder = folder
        self.algorithm_version = algorithm_version
        self.segments: dict[str, Segment] = {}
        self.damaged: list[str] = []

    def refresh(self) -> list[Segment]:
        names = sorted(p.name for p in self.folder.glob(f"*{SUFFIX}")) \
            if self.folder.is_dir() else []
        for gone in set(self.segments) - set(names):
            del self.segments[gone]
        for name in names:
            if name in self.segments:
                continue
            path = self.folder / name
            try:
                self.segments[name] = open_segment(path, self.algorithm_version)
            except FileNotFoundError:  # merged away meanwhile: the merged file has its rows
                continue
            except SegmentDamaged:
                with contextlib.suppress(FileNotFoundError):
                    os.replace(path, path.with_suffix(".damaged"))
                self.damaged.append(name)
        return [self.segments[n] for n in names if n in self.segments]

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments.values())


@contextlib.contextmanager
def folder_lock(folder: Path, *, blocking: bool = True) -> Iterator[bool]:
    """An exclusive lock on the folder (merges, rebuilds); yields False if not taken."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+b") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def merge_segments(folder: Path, algorithm_version: str, segments: list[Segment]) -> Path:
    """Write the rows of ``segments`` (deduplicated by id) as one segment, then delete them.

    A crash between the two leaves the rows twice; readers drop duplicates by id.
    """
    ids = np.concatenate([s.ids for s in segments])
    ids, first = np.unique(ids, return_index=True)
    vectors = unblock(np.concatenate([s.blocks for s in segments], axis=1)[:, first])

    def col(name: str) -> np.ndarray:
        return np.concatenate([getattr(s, name) for s in segments])[first]

    path = write_segment(folder, algorithm_version, ids, col("labs"), col("regions"),
                         col("calibres"), vectors, prefix="m")
    for s in segments:
        s.path.unlink(missing_ok=True)
    _fsync_dir(folder)
    return path


def scan_shortlist(segments: Sequence[Segment], vector: np.ndarray, lo: int, hi: int, *,
                   lab: int, region: int, calibre: int | None, admissible: np.ndarray,
                   k: int, shortlist: int = 16
                   ) -> tuple[list[tuple[int, float, float]], np.ndarray]:
    """Stage 1 over the rows with ids ``lo..hi`` of ``segments``: ``(id, bound, exact)`` of the
    best ``shortlist_size(k)`` rows by the bound (see :func:`.index.merge_shortlists`), and the
    ids found.

    A row counts when its filter columns match (``lab``, ``region``, ``calibre`` code or none
    recorded; ``calibre=None`` for any) and its id is in ``admissible`` (the caller's
    authoritative list: what the database says the search may see now). An id stored twice
    counts once.
    """
    from ballistics.imaging.index import block_bounds, block_rescore, shortlist_size

    m = shortlist_size(k, shortlist)
    admissible = np.unique(np.asarray(admissible, np.int64))  # sorted: membership by search
    found: list[np.ndarray] = []
    spans: list[tuple[int, int, np.ndarray]] = []  # id range and ids counted, per segment
    picks: list[tuple[int, np.ndarray, np.ndarray]] = []  # (segment, rows, bounds)
    for si, seg in enumerate(segments):
        sl = seg.rows_between(lo, hi)
        if sl.stop <= sl.start or admissible.size == 0 or lab not in seg.lab_set:
            continue
        ids = seg.ids[sl]
        mask = (seg.labs[sl] == lab) & (seg.regions[sl] == region)
        if calibre is not None:
            cal = seg.calibres[sl]
            mask &= (cal == calibre) | (cal == 0)
        pos = np.minimum(np.searchsorted(admissible, ids), admissible.size - 1)
        mask &= admissible[pos] == ids
        # A row stored twice (merged, appended again) counts once: only segments whose id
        # ranges overlap can hold the same id (a rebuilt index's overlap only across labs,
        # and another lab's segment counted nothing).
        first, last = int(ids[0]), int(ids[-1])
        earlier = [f for a, b, f in spans if a <= last and b >= first and f.size]
        if earlier and mask.any():
            mask &= ~np.isin(ids, np.concatenate(earlier))
        rows = np.flatnonzero(mask)
        spans.append((first, last, np.asarray(ids[rows])))
        if rows.size == 0:
            continue
        found.append(spans[-1][2])
        if rows.size * 4 < ids.size:
            # Few rows of this slice count (another lab's, another calibre): gather them.
            sub = np.ascontiguousarray(seg.blocks[:, sl.start + rows])
            bound = block_bounds(sub, vector, 0, rows.size)
        else:
            bound = block_bounds(seg.blocks, vector, sl.start, sl.stop)[rows]
        if rows.size > m:
            keep = np.argpartition(-bound, m - 1)[:m]
            rows, bound = rows[keep], bound[keep]
        picks.append((si, rows + sl.start, bound))
    found_ids = np.concatenate(found) if found else np.zeros(0, np.int64)
    if not picks:
        return [], found_ids
    bounds = np.concatenate([b for _, _, b in picks])
    owner = np.concatenate([np.full(len(r), i) for i, (_, r, _) in enumerate(picks)])
    rows = np.concatenate([r for _, r, _ in picks])
    if bounds.size > m:
        keep = np.argpartition(-bounds, m - 1)[:m]
        bounds, owner, rows = bounds[keep], owner[keep], rows[keep]
    out: list[tuple[int, float, float]] = []
    for i, (si, _, _) in enumerate(picks):
        sel = owner == i
        if not sel.any():
            continue
        seg = segments[si]
        exact = block_rescore(seg.blocks, vector, rows[sel])
        out.extend(zip(seg.ids[rows[sel]].tolist(), bounds[sel].tolist(), exact.tolist(),
                       strict=True))
    return out, found_ids
