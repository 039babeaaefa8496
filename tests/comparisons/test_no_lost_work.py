"""Nothing lost, nothing stuck: a broker outage delays work, a task that keeps failing says why,
and a scan left RUNNING by a killed worker is picked up by the sweep. Real worker processes."""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import func, select

from ballistics.comparisons import store
from ballistics.comparisons.models import FeatureSet, Scan
from ballistics.extensions import db
from ballistics.outbox.models import OutboxMessage
from tests.comparisons.helpers import upload, wait_for, x3p_bytes
from tests.support.labs import make_lab
from tests.support.services import broker_app, free_port, redis_server
from tests.support.web import Api, Browser
from tests.workerproc import stop, worker_process

pytestmark = pytest.mark.broker


def _outbox(scan_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.name == "comparisons.extract_features")
        .where(OutboxMessage.payload["args"][0].as_integer() == scan_id)).one()


def _feature_sets(sha256: str) -> int:
    return db.session.scalar(select(func.count(FeatureSet.id)).where(FeatureSet.sha256 == sha256))


def test_upload_while_the_broker_is_down_is_extracted_once_it_is_back(pg_url, tmp_path):
    port = free_port()
    app = broker_app(pg_url, tmp_path, f"redis://127.0.0.1:{port}/0")
    with app.app_context():
        kit = make_lab()
        client = app.test_client()
        tech = Api(client, kit, "tech")
        item = tech.receive(tech.new_case()["id"], calibre="9mm Luger")
        data = x3p_bytes(5, 0)  # made before the clock starts: only the request is timed
        with redis_server(port) as broker, worker_process(app, name="patient"):
            stop(broker)  # the broker goes down while the lab works
            started = time.monotonic()
            response = upload(client, kit.headers("examiner"), item["id"], data)
            elapsed = time.monotonic() - started
            assert response.status_code == 201, response.get_json()
            scan = response.get_json()
            assert scan["status"] == "queued" and elapsed < 5, elapsed
            message = _outbox(scan["id"])
            assert message.sent_at is None and message.attempts >= 1
            assert "connect" in message.last_error.lower()
            time.sleep(2)  # the worker's relay keeps trying and failing meanwhile
            assert tech.get(f"/scans/{scan['id']}")["status"] == "queued"
            with redis_server(port):  # back on the same address
                final = wait_for(lambda: tech.get(f"/scans/{scan['id']}"),
                                 lambda v: v["status"] in ("done", "failed"))
        assert final["status"] == "done", final
        assert _feature_sets(scan["sha256"]) == 1
        assert _outbox(scan["id"]).sent_at is not None
        assert db.session.get(Scan, scan["id"]).attempts == 1  # extracted exactly once
        db.session.remove()


def test_a_task_failing_every_time_ends_failed_with_its_reason_and_can_be_retried(
        pg_url, tmp_path):
    app = broker_app(pg_url, tmp_path, "redis://127.0.0.1:6379/0", TASK_MAX_RETRIES=2,
               TASK_RETRY_DELAY=0.2)
    with app.app_context():
        kit = make_lab()
        client = app.test_client()
        tech = Api(client, kit, "tech")
        item = tech.receive(tech.new_case()["id"], calibre="9mm Luger")
        # A firing no other test uploads: features another test computed for the same file in
        # this session's database would make the worker skip the corrupted file.
        data = x3p_bytes(6, 77)
        scan = upload(client, kit.headers("examiner"), item["id"], data).get_json()
        # The stored file no longer matches its hash: reading it raises OSError every time.
        store.path_for(scan["sha256"]).write_bytes(data[:-10] + b"corrupted!")
        with worker_process(app, name="unlucky"):
            final = wait_for(lambda: tech.get(f"/scans/{scan['id']}"),
                             lambda v: v["status"] in ("done", "failed"))
            assert final["status"] == "failed", final
            assert "no longer matches its SHA-256" in final["status_reason"]
            page = Browser(app, kit, "examiner")
            html = page.get(f"/items/{item['id']}")
            assert "no longer matches its SHA-256" in html and "Retry feature extraction" in html
            assert 'data-poll="' not in html.split(f'data-scan="{scan["id"]}"')[1][:20]
            store.path_for(scan["sha256"]).write_bytes(data)  # an administrator restores it
            page.submit(f"/scans/{scan['id']}/retry", {})
            final = wait_for(lambda: tech.get(f"/scans/{scan['id']}"),
                             lambda v: v["status"] in ("done", "failed"))
        assert final["status"] == "done", final
        assert _feature_sets(scan["sha256"]) == 1
        db.session.remove()


def test_a_scan_left_running_by_a_killed_worker_is_picked_up_by_the_sweep(pg_url, tmp_path):
    # Redis hands a killed worker's task to another only after the visibility timeout (an hour
    # by default): until then the scan would stay RUNNING without the sweep.
    app = broker_app(pg_url, tmp_path, "redis://127.0.0.1:6379/0", WORK_STUCK_AFTER=1)
    with app.app_context():
        kit = make_lab()
        client = app.test_client()
        tech = Api(client, kit, "tech")
        item = tech.receive(tech.new_case()["id"], "cartridge_case")
        from ballistics.imaging import synthetic, write_x3p
        data = write_x3p(synthetic.fire(synthetic.make_firearm(78), 1, size_px=1400))
        scan = upload(client, kit.headers("examiner"), item["id"], data).get_json()
        with worker_process(app, name="doomed") as doomed:
            wait_for(lambda: tech.get(f"/scans/{scan['id']}"),
                     lambda v: v["status"] == "running", interval=0.05)
            stop(doomed, sig=signal.SIGKILL)
        time.sleep(1.5)
        assert tech.get(f"/scans/{scan['id']}")["status"] == "running"
        with worker_process(app, name="rescuer"):
            app.extensions["celery"].send_task("comparisons.sweep").get(timeout=60)
            final = wait_for(lambda: tech.get(f"/scans/{scan['id']}"),
                             lambda v: v["status"] in ("done", "failed"))
        assert final["status"] == "done", final
        assert db.session.get(Scan, scan["id"]).attempts == 2
        assert _feature_sets(scan["sha256"]) == 1
        db.session.remove()
