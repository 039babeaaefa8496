"""On PostgreSQL: of simultaneous hand-overs the optimistic lock lets exactly one win. On both
databases: simultaneous receives on one case take unique, gap-free item numbers and ids, and
each item's rows are what its audit entries say."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ballistics.audit.services import verify_audit_chain
from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from tests.support.intake import check_intake
from tests.support.labs import make_lab
from tests.support.services import serve

N = 20


def test_twenty_simultaneous_handovers_exactly_one_wins(pg_app):
    with pg_app.app_context():
        kit = make_lab(extra_users=N)
        headers = kit.headers("tech")
        recipients = [kit.id(f"extra{i}") for i in range(N)]
        db.session.remove()
    with serve(pg_app) as base:
        case = requests.post(f"{base}/api/v1/cases", json={"submitting_agency": "Police"},
                             headers=headers, timeout=30).json()
        item = requests.post(f"{base}/api/v1/cases/{case['id']}/items",
                             json={"kind": "firearm", "from_agency": "Police"},
                             headers=headers, timeout=30).json()
        barrier = threading.Barrier(N)

        def hand_over(to_user: int) -> requests.Response:
            with requests.Session() as http:
                barrier.wait()
                return http.post(f"{base}/api/v1/items/{item['id']}/transfer",
                                 json={"to_user_id": to_user}, headers=headers, timeout=60)

        with ThreadPoolExecutor(N) as pool:
            responses = list(pool.map(hand_over, recipients))

    statuses = sorted(r.status_code for r in responses)
    failed = [r.text[:300] for r in responses if r.status_code >= 500]
    assert statuses == [201] + [409] * (N - 1), (statuses, failed)
    refused = [r.json() for r in responses if r.status_code == 409]
    assert all(b["error"] in {"concurrent_change", "not_holder"} for b in refused)
    assert all(b["message"] for b in refused)
    winner = next(r.json() for r in responses if r.status_code == 201)
    with pg_app.app_context():
        stored = db.session.get(Item, item["id"])
        assert stored.holder_user_id == winner["to_user_id"]
        assert stored.custody_seq == 2
        report = verify_chain(db.session, stored)
        assert report.ok and report.events == 2
        db.session.remove()


RECEIVES = 50


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_fifty_simultaneous_receives_on_one_case_take_numbers_one_to_fifty(request, backend):
    """The case's counter is raised by one UPDATE ... RETURNING per receive, which also takes
    the item's and event's ids: each waits for the previous one's commit (PostgreSQL's row lock,
    SQLite's write lock), so the numbers are unique and gap-free and no two intakes draw one id.
    """
    pg_app = request.getfixturevalue("pg_app" if backend == "postgresql" else "sqlite_app")
    with pg_app.app_context():
        kit = make_lab()
        headers = kit.headers("tech")
        lab_id, tech_id = kit.lab.id, kit.id("tech")
        db.session.remove()
    with serve(pg_app) as base:
        case = requests.post(f"{base}/api/v1/cases", json={"submitting_agency": "Police"},
                             headers=headers, timeout=30).json()
        barrier = threading.Barrier(RECEIVES)

        def receive(_: int) -> requests.Response:
            with requests.Session() as http:
                barrier.wait()
                return http.post(f"{base}/api/v1/cases/{case['id']}/items",
                                 json={"kind": "cartridge_case", "from_agency": "Police"},
                                 headers=headers, timeout=120)

        with ThreadPoolExecutor(RECEIVES) as pool:
            responses = list(pool.map(receive, range(RECEIVES)))

    assert [r.status_code for r in responses] == [201] * RECEIVES
    numbers = sorted(int(r.json()["number"]) for r in responses)
    assert numbers == list(range(1, RECEIVES + 1))
    assert all(r.json()["barcode"] == f"{case['lab_case_number']}/{r.json()['number']}"
               for r in responses)
    with pg_app.app_context():
        assert db.session.get(Case, case["id"]).item_count == RECEIVES
        ids = [r.json()["id"] for r in responses]
        assert len(set(ids)) == RECEIVES
        for item_id in ids:
            check_intake(lab_id, item_id, tech_id)
        assert verify_audit_chain(db.session, lab_id).ok
        db.session.remove()


def test_a_labs_first_cases_of_the_year_opened_at_once_take_distinct_numbers(pg_app):
    with pg_app.app_context():
        kit = make_lab()  # no case yet: the year's counter does not exist
        headers = kit.headers("tech")
        db.session.remove()
    with serve(pg_app) as base:
        barrier = threading.Barrier(N)

        def open_case(i: int) -> requests.Response:
            with requests.Session() as http:
                barrier.wait()
                return http.post(f"{base}/api/v1/cases", json={"submitting_agency": f"P{i}"},
                                 headers=headers, timeout=60)

        with ThreadPoolExecutor(N) as pool:
            answers = list(pool.map(open_case, range(N)))
    assert [r.status_code for r in answers] == [201] * N, [r.text[:200] for r in answers]
    numbers = sorted(r.json()["lab_case_number"] for r in answers)
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == list(range(1, N + 1)), numbers
