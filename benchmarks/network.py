"""The regional network under load: partner-search latency over a large shared pool, and how
fast a node drains its deliveries after a hub outage.

A hub and lab nodes run as real processes (gunicorn + Celery worker each) on PostgreSQL and
Redis. The hub's pool is bulk-inserted: ``--records`` shared records from 8 member labs cycling
over a pool of real synthetic feature sets (equal content is stored once, as the hub does); the
query's two true mates are among them. Reports submit -> candidates at the asking node (p50,
p95) and the rank of the mates; then a node with ``--deliveries`` records to share while the hub
is down: records/s and the time to drain once the hub is back.

    PYTHONPATH=. .venv/bin/python benchmarks/network.py --records 100000 --deliveries 10000
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests
from nacl.signing import SigningKey
from sqlalchemy import insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ballistics import imaging  # noqa: E402
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus  # noqa: E402
from ballistics.core.context import acting_as  # noqa: E402
from ballistics.evidence.models import Case, Item  # noqa: E402
from ballistics.extensions import db  # noqa: E402
from ballistics.imaging import synthetic  # noqa: E402
from ballistics.network import client, hub, node  # noqa: E402
from ballistics.network.models import HubFeatureBlob, HubRecord  # noqa: E402
from tests.support.labs import make_lab  # noqa: E402
from tests.support.services import (  # noqa: E402
    create_pg_database,
    drop_pg_database,
    free_port,
    migrated_app,
)
from tests.workerproc import web_process, worker_process  # noqa: E402

BROKER, RESULTS = "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"
QUERY_GUN = 999


def _features(gun: int, shot: int) -> imaging.Features:
    return imaging.extract_features(synthetic.fire(synthetic.make_firearm(gun), shot))


def _app(name: str, tmp: Path, urls: list, **settings):
    url = create_pg_database(f"ballistics_bench_{name.lower()}")
    urls.append(url)
    return migrated_app(url, tmp / name, CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND=RESULTS,
                        CELERY_TASK_DEFAULT_QUEUE=f"bench-{name.lower()}-{uuid.uuid4().hex[:6]}",
                        COMPARISON_AUTO_SEARCH=False, OUTBOX_RELAY_SECONDS=0.5, **settings)


def _fill_hub(hub_app, n: int, pool_guns: int) -> None:
    """8 member labs sharing ``n`` records that cycle over synthetic firings; the query
    firearm's firings 0 and 1 are two of them (owned by M1)."""
    pool = [(g, s) for g in range(pool_guns) for s in range(2)]
    with hub_app.app_context(), acting_as(None, None, "bench"):
        blobs = {}
        for g, s in [*pool, (QUERY_GUN, 0), (QUERY_GUN, 1)]:
            feats = _features(g, s)
            data = imaging.features_to_bytes(feats)
            sha = hashlib.sha256(data).hexdigest()
            db.session.add(HubFeatureBlob(sha256=sha, data=data))
            blobs[(g, s)] = (sha, feats.signature.astype("float32").tobytes())
        for i in range(8):
            hub.add_member(f"M{i}", f"Member {i}", bytes(SigningKey.generate().verify_key))
        db.session.commit()
        rows, batch = [], 10_000
        for r in range(n):
            key = (QUERY_GUN, r) if r < 2 else pool[r % len(pool)]
            sha, sig = blobs[key]
            rows.append({"owner_code": f"M{r % 8}" if r >= 2 else "M1", "record_id": r + 1,
                         "reference": f"R{r:07d}", "version": 1,
                         "algorithm_version": imaging.ALGORITHM_VERSION, "region": "breech_face",
                         "calibre": "9mm Luger", "firing_pin_shape": "", "breech_face_class": "",
                         "shared_with": ["*"], "signature": sig, "features_sha256": sha,
                         "scanned_at": datetime(2026, 1, 1), "received_at": datetime(2026, 1, 1)})
            if len(rows) == batch:
                db.session.execute(insert(HubRecord), rows)
                db.session.commit()
                rows = []
        if rows:
            db.session.execute(insert(HubRecord), rows)
            db.session.commit()
        db.session.remove()


def _node_scans(app, kit, count: int, feats: imaging.Features) -> list[int]:
    """``count`` done scans of one content (one feature set), each its own item."""
    data = imaging.features_to_bytes(feats)
    sha = hashlib.sha256(data).hexdigest()
    db.session.add(FeatureSet(sha256=sha, algorithm_version=imaging.ALGORITHM_VERSION,
                              signature=feats.signature.astype("float32").tobytes(), data=data))
    user = kit.users["examiner"]
    case = Case(lab_id=kit.lab.id, year=2026, seq=1, lab_case_number=f"{kit.lab.code}-B1",
                submitting_agency="bench", offence="bench", created_by_id=user.id)
    db.session.add(case)
    db.session.flush()
    ids = []
    for i in range(count):
        item = Item(lab_id=kit.lab.id, case_id=case.id, number=str(i + 1),
                    barcode=f"{case.lab_case_number}/{i + 1}", kind="cartridge_case",
                    calibre="9mm Luger", holder_user_id=user.id)
        db.session.add(item)
        db.session.flush()
        scan = Scan(lab_id=kit.lab.id, item_id=item.id, sha256=sha, filename="bench.x3p",
                    file_format="x3p", size_bytes=1, width=1, height=1, pixel_um=6.25,
                    calibre="9mm Luger", status=ScanStatus.DONE, uploaded_by_id=user.id)
        db.session.add(scan)
        db.session.flush()
        ids.append(scan.id)
    db.session.commit()
    return ids


def _register(hub_app, app, code: str) -> None:
    with app.app_context():
        _, _, public = client.identity(code)
    with hub_app.app_context(), acting_as(None, None, "bench"):
        hub.add_member(code, code, public)
        db.session.commit()


def _warm(*ports: int) -> None:
    """gunicorn opens the port before its workers have loaded the app (a minute and more on a
    loaded machine): answer a few cheap requests on each before anything is timed."""
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda port: requests.get(
            f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=600), [*ports] * 4))


def bench_search(tmp: Path, urls: list, n: int, searches: int) -> None:
    hub_port = free_port()
    hub_app = _app("HUB", tmp, urls, APP_ROLE="hub")
    t0 = time.perf_counter()
    _fill_hub(hub_app, n, pool_guns=20)
    print(f"hub pool: {n} records from 8 labs inserted in {time.perf_counter() - t0:.0f} s")
    lab = _app("ASK", tmp, urls, NETWORK_HUB_URL=f"http://127.0.0.1:{hub_port}",
               NETWORK_LAB="ASK")
    with lab.app_context():
        kit = make_lab(code="ASK")
        scan_id = _node_scans(lab, kit, 1, _features(QUERY_GUN, 2))[0]
        headers = kit.headers("examiner")
    _register(hub_app, lab, "ASK")
    node_port = free_port()
    with web_process(hub_app, hub_port), worker_process(hub_app, name="hubw", concurrency=2), \
            web_process(lab, node_port), worker_process(lab, name="askw"):
        _warm(hub_port, node_port)
        times, ranks = [], []
        for _ in range(searches):
            started = time.perf_counter()
            s = requests.post(f"http://127.0.0.1:{node_port}/api/v1/scans/{scan_id}/"
                              "partner-searches", headers=headers, json={"k": 50},
                              timeout=300).json()
            while True:
                got = requests.get(f"http://127.0.0.1:{node_port}/api/v1/partner-searches/"
                                   f"{s['id']}", headers=headers, timeout=300).json()
                if got["status"] in ("done", "failed"):
                    break
                time.sleep(0.05)
            times.append(time.perf_counter() - started)
            refs = [c["reference"] for c in got["candidates"]]
            ranks.append(sorted(refs.index(r) + 1 for r in ("R0000000", "R0000001")
                                if r in refs))
        ordered = sorted(times)
        print(f"partner search over {n} shared records, K = 50, {searches} searches: "
              f"p50 {statistics.median(ordered):.2f} s, p95 "
              f"{ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]:.2f} s; "
              f"ranks of the two true mates: {ranks[0]} (every search: {ranks})")


def bench_delivery(tmp: Path, urls: list, count: int) -> None:
    hub_port = free_port()
    hub_app = _app("HUB2", tmp, urls, APP_ROLE="hub")
    lab = _app("SEND", tmp, urls, NETWORK_HUB_URL=f"http://127.0.0.1:{hub_port}",
               NETWORK_LAB="SEND")
    with lab.app_context():
        kit = make_lab(code="SEND")
        _node_scans(lab, kit, count, _features(7, 0))
        manager = kit.users["manager"]
        with acting_as(manager.id, kit.lab.id, "bench"):
            t0 = time.perf_counter()
            node.set_policy(manager, mode="all", partners=[], offence_contains=[],
                            agency_contains=[])
            db.session.commit()
        print(f"{count} records queued for the hub in {time.perf_counter() - t0:.1f} s "
              "(one transaction, hub down)")
    _register(hub_app, lab, "SEND")
    with web_process(hub_app, hub_port), lab.app_context():
        _warm(hub_port)
        t0, sent, retries = time.perf_counter(), 0, 0
        while sent < count:
            batch, failed = node.deliver(limit=1000)
            sent += batch
            if failed:  # the hub timed out (a loaded machine): wait out the back-off, as beat would
                retries += 1
                if retries > 10:
                    raise SystemExit(f"delivery failed {retries} times after {sent}")
            if not batch:
                time.sleep(0.2)
        elapsed = time.perf_counter() - t0
        with hub_app.app_context():
            held = db.session.scalar(select(db.func.count(HubRecord.id)))
        print(f"drained {sent} records after the outage in {elapsed:.1f} s: "
              f"{sent / elapsed:.0f} records/s (one deliverer, in order, {retries} retried "
              f"batch(es)); hub holds {held}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=10)
    parser.add_argument("--deliveries", type=int, default=10_000)
    args = parser.parse_args()
    urls: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            bench_search(Path(tmp), urls, args.records, args.searches)
            bench_delivery(Path(tmp), urls, args.deliveries)
        finally:
            for url in urls:
                drop_pg_database(url)


if __name__ == "__main__":
    main()
