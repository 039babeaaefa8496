"""axe-core's cached copy is written whole by whichever of several simultaneous writers (the
xdist workers of a clean clone) finishes last: a shared partial file name once let one worker
rename the other's file away, and 50 accessibility tests errored at setup in CI."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support.axe import install


def test_simultaneous_installs_leave_one_whole_copy_and_no_partial(tmp_path):
    target = tmp_path / "axe-core" / "axe.min.js"
    data = b"/* axe */" * 50_000
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _i: install(target, data), range(16)))
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["axe.min.js"]
