"""End to end with real worker processes: upload, features, search, candidate list."""

from __future__ import annotations

import signal
import uuid

import pytest
from sqlalchemy import func, select

from ballistics.comparisons.models import FeatureSet
from ballistics.extensions import db
from tests.comparisons.helpers import upload, wait_for, x3p_bytes
from tests.support.labs import make_lab
from tests.support.services import migrated_app
from tests.support.web import Api
from tests.workerproc import stop, worker_process

FIREARMS, FIRINGS = 10, 3


def _app(database_url: str, instance, broker: str | None, **extra):
    settings = {"CELERY_TASK_DEFAULT_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
                "COMPARISON_AUTO_SEARCH": False, **extra}
    if broker:
        settings.update(CELERY_BROKER_URL=broker,
                        CELERY_RESULT_BACKEND="redis://127.0.0.1:6379/1")
    return migrated_app(database_url, instance, **settings)


def _upload_set(app, kit, firearms: range, firings: int) -> dict[int, list[dict]]:
    """Each firing as a cartridge case of its own case; returns scans per firearm seed."""
    client = app.test_client()
    tech = Api(client, kit, "tech")
    scans: dict[int, list[dict]] = {}
    for gun in firearms:
        for shot in range(firings):
            item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
            response = upload(client, kit.headers("examiner"), item["id"],
                              x3p_bytes(gun, shot))
            assert response.status_code == 201, response.get_json()
            scans.setdefault(gun, []).append(response.get_json())
    return scans


def _wait_done(api: Api, scans: list[dict]) -> None:
    for scan in scans:
        final = wait_for(lambda s=scan: api.get(f"/scans/{s['id']}"),
                         lambda v: v["status"] in ("done", "failed"))
        assert final["status"] == "done", final


def _search(api: Api, scan_id: int, k: int = 100) -> dict:
    search = api.post(f"/scans/{scan_id}/searches", {"k": k}, expect=202)
    seen = []

    def fetch():
        value = api.get(f"/searches/{search['id']}")
        seen.append((value["status"], value["progress_done"]))
        return value

    return wait_for(fetch, lambda v: v["status"] in ("done", "failed")) | {"seen": seen}


def _flow(app) -> None:
    with app.app_context():
        kit = make_lab()
        outsider = make_lab()
        db.session.remove()
    with app.app_context():
        scans = _upload_set(app, kit, range(FIREARMS), FIRINGS)
        # Another lab holds firings of the same firearm 0: they must never appear.
        foreign = _upload_set(app, outsider, range(0, 1), 2)
        api = Api(app.test_client(), kit, "examiner")
        all_scans = [s for group in scans.values() for s in group]
        _wait_done(api, all_scans)
        _wait_done(Api(app.test_client(), outsider, "examiner"), foreign[0])

        result = _search(api, scans[0][0]["id"])
        assert result["status"] == "done", result
        candidates = result["candidates"]
        assert result["n_references"] == FIREARMS * FIRINGS - 1
        assert len(candidates) == FIREARMS * FIRINGS - 1
        print("search", result["id"], "stage1", result["stage1_ms"], "ms, stage2",
              result["stage2_ms"], "ms, progress seen", result["seen"][:5])
        mates = {s["id"] for s in scans[0][1:]}
        top = [c["reference_scan_id"] for c in candidates[:len(mates)]]
        for c in candidates[:5]:
            print(c["rank"], c["reference_scan_id"], round(c["score"], 2), c["cmc_count"],
                  c["likelihood_ratio"], c["lr_note"])
        # Synthetic raw scans lie outside the shipped calibration's domain: a score, no LR, and
        # the reason (a pair inside it would have an LR and no note).
        for c in candidates:
            assert (c["likelihood_ratio"] is None) == bool(c["lr_note"])
        assert "raw scan" in candidates[0]["lr_note"]
        assert set(top) == mates, candidates[:4]
        assert [c["rank"] for c in candidates] == list(range(1, len(candidates) + 1))
        own = {s["id"] for s in all_scans}
        assert {c["reference_scan_id"] for c in candidates} <= own
        assert not {s["id"] for s in foreign[0]} & {c["reference_scan_id"] for c in candidates}
        assert "not an identification" in result["validation"]
        # Duplicate upload: one scan row per item and no second extraction.
        again = upload(app.test_client(), kit.headers("tech"), scans[0][0]["item_id"],
                       x3p_bytes(0, 0))
        assert again.status_code == 200 and again.get_json()["id"] == scans[0][0]["id"]
        sha = scans[0][0]["sha256"]
        assert db.session.scalar(select(func.count(FeatureSet.id))
                                 .where(FeatureSet.sha256 == sha)) == 1
        db.session.remove()


@pytest.mark.broker
@pytest.mark.slow
def test_end_to_end_on_postgresql_and_redis(pg_url, tmp_path):
    # Small shards, so stage 1 runs as parallel shard tasks as it does at regional scale;
    # stage 2 in chunks of 7 (the setting, not the default), so 29 candidates make 5 tasks.
    app = _app(pg_url, tmp_path, "redis://127.0.0.1:6379/0", SEARCH_SHARD_SIZE=8,
               SEARCH_CHUNK_SIZE=7)
    with worker_process(app, concurrency=2):
        _flow(app)
    log = (tmp_path / "worker-w1.log").read_text()
    assert log.count("comparisons.rank_shard") >= 4  # 29 references in shards of 8
    received = [line for line in log.splitlines()
                if "comparisons.compare_chunk[" in line and "received" in line]
    assert len(received) == 5, received  # ceil(29 / 7)


@pytest.mark.slow
def test_end_to_end_on_the_embedded_default(tmp_path):
    app = _app(f"sqlite:///{tmp_path / 'embedded.sqlite'}", tmp_path, None)
    assert app.config["CELERY_BROKER_URL"] == "filesystem://"
    with worker_process(app, concurrency=2):
        _flow(app)


@pytest.mark.broker
def test_killed_worker_loses_nothing(pg_url, tmp_path):
    app = _app(pg_url, tmp_path, "amqp://guest:guest@127.0.0.1:5672//")
    with app.app_context():
        kit = make_lab()
        db.session.remove()
    with app.app_context():
        client = app.test_client()
        tech = Api(client, kit, "tech")
        item = tech.receive(tech.new_case()["id"], "cartridge_case")
        # A larger scan keeps the worker busy long enough to be killed mid-extraction.
        from ballistics.imaging import synthetic, write_x3p
        data = write_x3p(synthetic.fire(synthetic.make_firearm(77), 1, size_px=1400))
        scan = upload(client, kit.headers("examiner"), item["id"], data).get_json()
        with worker_process(app, name="doomed") as doomed:
            wait_for(lambda: tech.get(f"/scans/{scan['id']}"),
                     lambda v: v["status"] == "running", interval=0.05)
            stop(doomed, sig=signal.SIGKILL)
        assert tech.get(f"/scans/{scan['id']}")["status"] == "running"
        with worker_process(app, name="rescuer"):
            final = wait_for(lambda: tech.get(f"/scans/{scan['id']}"),
                             lambda v: v["status"] in ("done", "failed"))
        assert final["status"] == "done", final
        assert db.session.scalar(select(func.count(FeatureSet.id))
                                 .where(FeatureSet.sha256 == scan["sha256"])) == 1
        db.session.remove()


@pytest.mark.broker
def test_two_workers_share_one_broker_and_reextract_command(pg_url, tmp_path, monkeypatch):
    from ballistics.comparisons.cli import stale_scans

    app = _app(pg_url, tmp_path, "redis://127.0.0.1:6379/0")
    with app.app_context():
        kit = make_lab()
        lab_id, lab_code = kit.lab.id, kit.lab.code
        db.session.remove()
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    with app.app_context():
        with worker_process(app, name="w1", log=logs[0]), \
                worker_process(app, name="w2", log=logs[1]):
            scans = _upload_set(app, kit, range(20, 24), 2)
            api = Api(app.test_client(), kit, "examiner")
            _wait_done(api, [s for group in scans.values() for s in group])
        done_by = [log.read_text().count("comparisons.extract_features") for log in logs]
        assert all(n > 0 for n in done_by), done_by
        assert stale_scans(lab_id) == []
        # A new algorithm version leaves every scan stale until the command re-queues them.
        runner = app.test_cli_runner()
        result = runner.invoke(args=["comparisons", "reextract", "--lab", lab_code,
                                     "--dry-run"])
        assert "0 scan(s) need features" in result.output
        import ballistics.imaging

        monkeypatch.setattr(ballistics.imaging, "ALGORITHM_VERSION", "cmc-next")
        result = runner.invoke(args=["comparisons", "reextract", "--lab", lab_code,
                                     "--dry-run"])
        assert "8 scan(s) need features for cmc-next" in result.output
        db.session.remove()
