"""A search that gives up or is left unfinished ends FAILED with its reason; its page stops
polling and offers a retry, which starts a new search through the outbox (the failed one stays
on record). The scan side, with real workers: test_no_lost_work.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ballistics.comparisons import scans, searches
from ballistics.comparisons.models import Scan, ScanStatus, Search, SearchStatus
from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.outbox.models import OutboxMessage
from tests.comparisons.helpers import upload, x3p_bytes
from tests.support.web import Api, Browser


@pytest.fixture
def queued(client, lab) -> int:
    """A search of a done scan, queued (no worker takes it here)."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
    response = upload(client, lab.headers("examiner"), item["id"], x3p_bytes(4, 0))
    assert response.status_code == 201, response.get_json()
    with acting_as(lab.id("examiner"), lab.lab.id, "test"):
        scan = db.session.get(Scan, response.get_json()["id"])
        scans.compute_features(scan)
        scans.mark(scan, ScanStatus.DONE)
        search = searches.start_search(lab.users["examiner"], scan)
        db.session.commit()
    return search.id


def _status_span(html: str) -> str:
    start = html.index('id="search-status"')
    return html[start:html.index(">", start)]


def _run_messages(search_id: int) -> int:
    return len(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.name == "comparisons.run_search",
        OutboxMessage.payload["args"][0].as_integer() == search_id)).all())


def test_a_search_task_that_gives_up_marks_the_search_failed(app, lab, queued, monkeypatch):
    def broken(_search):
        raise RuntimeError("index segment unreadable")

    monkeypatch.setattr(searches, "start", broken)
    # This app's own Celery: a shared task binds to the last Celery app made in the process,
    # which in the whole suite is another test's app on another database.
    result = app.extensions["celery"].tasks["comparisons.run_search"].apply(args=[queued])
    assert result.failed()
    db.session.expire_all()
    search = db.session.get(Search, queued)
    assert search.status == SearchStatus.FAILED
    assert search.error == "Stage 1 failed (RuntimeError: index segment unreadable)."
    assert search.error_wording["args"] == {"detail": "RuntimeError: index segment unreadable"}


def test_an_unfinished_search_is_failed_by_the_sweep_and_retried_from_its_page(
        app, client, lab, queued):
    examiner = Browser(app, lab, "examiner")
    assert "data-poll=" in _status_span(examiner.get(f"/searches/{queued}"))
    # Started two hours ago and never finished: a worker took it and vanished.
    search = db.session.get(Search, queued)
    search.status, search.started_at = SearchStatus.RANKING, search.created_at - timedelta(hours=2)
    db.session.commit()
    assert searches.sweep_stuck(3600) == {"searches_requeued": 0, "searches_failed": 1}
    db.session.commit()
    assert db.session.get(Search, queued).status == SearchStatus.FAILED

    html = examiner.get(f"/searches/{queued}")
    assert "data-poll=" not in _status_span(html)  # the page stops polling
    assert "did not finish within 3600 s" in html and "Retry the search" in html
    examiner.client.set_cookie("lang", "es")  # stored once, said in each reader's language
    html_es = examiner.get(f"/searches/{queued}")
    assert "La búsqueda no terminó en 3600 s" in html_es and "did not finish" not in html_es
    assert "La búsqueda no terminó en 3600 s" in examiner.get("/searches")
    examiner.client.set_cookie("lang", "en")
    assert Api(client, lab, "examiner").get(f"/searches/{queued}")["status"] == "failed"

    _, page, flashes = examiner.submit(f"/searches/{queued}/retry", {})
    assert flashes[0][0] == "success", flashes
    db.session.expire_all()
    again = db.session.scalars(select(Search).where(Search.lab_id == lab.lab.id)
                               .order_by(Search.id.desc())).first()
    assert again.id != queued and again.status == SearchStatus.QUEUED
    assert (again.query_scan_id, again.k) == (search.query_scan_id, search.k)
    assert _run_messages(again.id) == 1  # asked for through the outbox
    assert "data-poll=" in _status_span(page)
    # The failed search stays on record; only a failed search is retried.
    assert db.session.get(Search, queued).status == SearchStatus.FAILED
    _, _, flashes = examiner.submit(f"/searches/{again.id}/retry", {})
    assert flashes[0][0] == "error" and "only a failed search is retried" in flashes[0][1]
    assert db.session.scalar(select(Search.id).where(Search.lab_id == lab.lab.id)
                             .order_by(Search.id.desc()).limit(1)) == again.id


def test_a_search_still_waiting_to_start_is_sent_again_not_failed(app, lab, queued):
    """Queued through a broker outage longer than the sweep's limit: the sweep sends the search
    again (once per limit) and never fails it; the first delivery runs it, the others find it
    claimed. Failing it lost the request: the first message, relayed when the broker came
    back, found the search failed and did nothing."""
    search = db.session.get(Search, queued)
    search.created_at -= timedelta(hours=2)
    db.session.commit()
    assert _run_messages(queued) == 1  # the first, still waiting for the broker
    assert searches.sweep_stuck(3600) == {"searches_requeued": 1, "searches_failed": 0}
    db.session.commit()
    search = db.session.get(Search, queued)
    assert search.status == SearchStatus.QUEUED and search.error == ""
    assert search.queued_at is not None and search.queued_at > search.created_at
    assert _run_messages(queued) == 2
    # Sent again once per limit, not on every sweep.
    assert searches.sweep_stuck(3600) == {"searches_requeued": 0, "searches_failed": 0}
    db.session.commit()
    assert _run_messages(queued) == 2

    # Both messages are delivered: the first runs the search, the second does nothing.
    run = app.extensions["celery"].tasks["comparisons.run_search"]
    first, second = run.apply(args=[queued]), run.apply(args=[queued])
    assert first.successful() and first.result != "skipped"
    assert second.successful() and second.result == "skipped"
    db.session.expire_all()
    search = db.session.get(Search, queued)
    assert search.status == SearchStatus.DONE and search.error == ""


def test_a_scan_whose_features_could_not_be_computed_says_why_in_the_readers_language(
        app, client, lab, queued):
    scan = db.session.get(Search, queued).query_scan
    with acting_as(None, lab.lab.id, "test"):
        scans.mark(scan, ScanStatus.FAILED, scans.failure_reason(OSError("disk gone")))
        db.session.commit()
    assert scan.status_reason.startswith("The stored scan file could not be read or no longer "
                                         "matches its SHA-256 (disk gone).")
    examiner = Browser(app, lab, "examiner")
    examiner.client.set_cookie("lang", "es")
    page = examiner.get(f"/items/{scan.item_id}")
    assert "El archivo del escaneo guardado no se pudo leer" in page, page
    status = examiner.client.get(f"/scans/{scan.id}/status.json").get_json()
    assert status["reason"].startswith("El archivo del escaneo guardado no se pudo leer")
    # The API keeps the English, for machines and exports.
    assert Api(client, lab, "examiner").get(f"/scans/{scan.id}")["status_reason"] \
        == scan.status_reason
