"""Signature segments: the scan over stored, memory-mapped blocks ranks exactly as the in-memory
index over the same rows (also split into shards), filters by its columns and the admissible
ids, and a damaged file is refused, never read."""

from __future__ import annotations

import numpy as np
import pytest

from ballistics.imaging import SignatureIndex
from ballistics.imaging.index import merge_shortlists
from ballistics.imaging.segments import (
    HEADER_BYTES,
    SegmentDamaged,
    SegmentSet,
    code,
    merge_segments,
    open_segment,
    scan_shortlist,
    write_segment,
)
from ballistics.imaging.signature import SIGNATURE_LENGTH

V = "test-1"


def _vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, SIGNATURE_LENGTH)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _write(folder, ids, vectors, lab=1, calibre="9mm Luger"):
    n = len(ids)
    return write_segment(folder, V, ids, [lab] * n, [code("breech_face")] * n,
                         [code(calibre)] * n, vectors)


def test_sharded_scan_over_segments_equals_the_in_memory_index(tmp_path):
    vectors = _vectors(6000, 1)
    ids = np.arange(10, 6010)
    # Written out of order and in uneven pieces, as appends arrive.
    order = np.random.default_rng(2).permutation(6000)
    for part in np.array_split(order, 7):
        _write(tmp_path, ids[part], vectors[part])
    segments = SegmentSet(tmp_path, V).refresh()
    assert sum(len(s) for s in segments) == 6000
    query = vectors[17] + 0.05 * _vectors(1, 3)[0]
    admissible = ids[ids % 5 != 0]  # what the database allows
    index = SignatureIndex()
    index.add(admissible.tolist(), vectors[admissible - 10])
    expected = index.search(query, 20)
    kw = dict(lab=1, region=code("breech_face"), calibre=code("9mm Luger"),
              admissible=admissible, k=20)
    whole, found = scan_shortlist(segments, query, 0, 2**62, **kw)
    assert sorted(found.tolist()) == sorted(admissible.tolist())
    shards = [scan_shortlist(segments, query, lo, hi, **kw)[0]
              for lo, hi in [(0, 2000), (2001, 4100), (4101, 2**62)]]
    for parts in (whole, [r for s in shards for r in s]):
        got = merge_shortlists(parts, 20)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-5)


def test_filter_columns_and_duplicates(tmp_path):
    vectors = _vectors(40, 4)
    _write(tmp_path, range(0, 10), vectors[:10], lab=1)
    _write(tmp_path, range(10, 20), vectors[10:20], lab=2)
    _write(tmp_path, range(20, 30), vectors[20:30], lab=1, calibre=".45 ACP")
    _write(tmp_path, range(30, 40), vectors[30:40], lab=1, calibre="")
    _write(tmp_path, range(0, 5), vectors[:5], lab=1)  # appended twice
    segments = SegmentSet(tmp_path, V).refresh()
    everything = np.arange(40)
    out, found = scan_shortlist(segments, vectors[0], 0, 2**62, lab=1,
                                region=code("breech_face"), calibre=code("9mm Luger"),
                                admissible=everything, k=50)
    assert sorted(i for i, _, _ in out) == [*range(0, 10), *range(30, 40)]
    assert len(found) == 20
    out, _ = scan_shortlist(segments, vectors[0], 0, 2**62, lab=2, region=code("breech_face"),
                            calibre=None, admissible=everything, k=50)
    assert sorted(i for i, _, _ in out) == list(range(10, 20))
    out, _ = scan_shortlist(segments, vectors[0], 0, 2**62, lab=1, region=code("firing_pin"),
                            calibre=None, admissible=everything, k=50)
    assert out == []


def test_merge_keeps_every_row_once(tmp_path):
    vectors = _vectors(30, 5)
    for s in range(0, 30, 10):
        _write(tmp_path, range(s, s + 10), vectors[s:s + 10])
    _write(tmp_path, [3], vectors[3:4])
    segments = SegmentSet(tmp_path, V).refresh()
    merged = merge_segments(tmp_path, V, segments)
    after = SegmentSet(tmp_path, V).refresh()
    assert [s.path for s in after] == [merged]
    assert after[0].ids.tolist() == list(range(30))
    assert np.array_equal(after[0].vector(7), vectors[7])


@pytest.mark.parametrize("damage", ["truncate", "flip", "header"])
def test_a_damaged_segment_is_refused_and_set_aside(tmp_path, damage):
    good = _write(tmp_path, range(5), _vectors(5, 6))
    bad = _write(tmp_path, range(5, 10), _vectors(5, 7))
    data = bytearray(bad.read_bytes())
    if damage == "truncate":
        data = data[:-100]
    elif damage == "flip":
        data[HEADER_BYTES + 200] ^= 0xFF
    else:
        data[:4] = b"XXXX"
    bad.write_bytes(bytes(data))
    with pytest.raises(SegmentDamaged):
        open_segment(bad, V)
    segset = SegmentSet(tmp_path, V)
    segments = segset.refresh()
    assert [s.path for s in segments] == [good]
    assert segset.damaged == [bad.name]
    assert not bad.exists() and bad.with_suffix(".damaged").exists()
