"""Synthetic scans and API calls for comparison tests."""

from __future__ import annotations

import contextlib
import io
import time
from functools import cache

from ballistics.imaging import synthetic, write_x3p


@cache
def x3p_bytes(firearm_seed: int, firing_seed: int) -> bytes:
    """One synthetic firing of one synthetic firearm, as an x3p file (cached per test run)."""
    return write_x3p(synthetic.fire(synthetic.make_firearm(firearm_seed), firing_seed))


def upload(client, headers: dict, item_id: int, data: bytes, filename: str = "scan.x3p",
           **fields):
    """POST a multipart upload through any client (Flask test client or a requests.Session)."""
    form = {"calibre": "9mm Luger", **{k: str(v) for k, v in fields.items()}}
    if hasattr(client, "application"):  # Flask test client
        return client.post(f"/api/v1/items/{item_id}/scans", headers=headers,
                           data={**form, "file": (io.BytesIO(data), filename)},
                           content_type="multipart/form-data")
    return client.post(f"/api/v1/items/{item_id}/scans", headers=headers, data=form,
                       files={"file": (filename, data)}, timeout=60)


def wait_for(fetch, done, timeout: float = 240, interval: float = 0.5):
    """Poll ``fetch()`` until ``done(value)``; return the last value (fails on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s; last value: {value}")
        time.sleep(interval)


def run_search_inline(search) -> None:
    """Both stages of a search in this process, in the order the tasks run them."""
    from flask import current_app

    from ballistics.comparisons import searches

    searches.start(search)
    chunks = searches.to_chunks(search, searches.rank(search),
                                current_app.config["SEARCH_CHUNK_SIZE"])
    searches.finish(search.id, [r for chunk in chunks
                                for r in searches.compare_chunk(search.id, chunk)])


def searched_lab(client, kit) -> dict:
    """Three cartridge cases of three cases, scanned (two firings of one firearm, one of
    another), their features, and a done search of the first: the worker's steps, run
    in-process. The items stay with the technician who received them."""
    from sqlalchemy import select

    from ballistics.comparisons import scans, searches
    from ballistics.comparisons.models import Scan, ScanStatus
    from ballistics.core.context import acting_as
    from ballistics.extensions import db
    from tests.support.web import Api

    tech = Api(client, kit, "tech")
    items = [tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
             for _ in range(3)]
    ids = []
    for item, (gun, shot) in zip(items, [(0, 0), (0, 1), (1, 0)], strict=True):
        response = upload(client, kit.headers("examiner"), item["id"], x3p_bytes(gun, shot))
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    with acting_as(kit.id("examiner"), kit.lab.id, "test"):
        for scan in db.session.scalars(select(Scan).where(Scan.id.in_(ids))):
            scans.compute_features(scan)
            scans.mark(scan, ScanStatus.DONE)
        search = searches.start_search(kit.users["examiner"], db.session.get(Scan, ids[0]))
        run_search_inline(search)
        db.session.commit()
    candidates = sorted(search.candidates, key=lambda c: c.rank)
    return {"items": items, "scans": ids, "search": search.id,
            "candidates": [c.id for c in candidates],
            "mate": candidates[0].reference_scan_id}


def sent(app, task_name: str, first_arg: int) -> int:
    """How many ``task_name`` messages with ``first_arg`` first (a search id) wait in the
    app's filesystem broker (the default transport, no worker taking them)."""
    import json
    from pathlib import Path

    count = 0
    for path in (Path(app.config["CELERY_BROKER_FOLDER"]) / "out").glob("*.msg"):
        headers = json.loads(path.read_text())["headers"]
        args = headers.get("argsrepr", "").strip("()[]").split(",")
        count += headers.get("task") == task_name and args[0].strip() == str(first_arg)
    return count


@contextlib.contextmanager
def current_celery(app):
    """Make ``app``'s Celery the current one while the block runs: a chord's shared tasks bind
    to the current Celery app, by default the last one made in the process (in a test session,
    another app's, on another database and broker folder)."""
    from celery import current_app as celery_current

    previous = celery_current._get_current_object()
    app.extensions["celery"].set_current()
    try:
        yield
    finally:
        previous.set_current()
